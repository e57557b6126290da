// Notebooks are edited as notebooks: committed without outputs, execution counts or widget state, and every code cell
// type-checks as the clip-nad kernel checks it (tslab's TypeScript 5.0, cell after cell, "clip-nad" resolved to this
// package) — tools/notebooks/typecheck.cjs, without running anything.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");
const tool = path.join(root, "tools/notebooks/typecheck.cjs");
const check = (files: string[]) => spawnSync(process.execPath, [tool, ...files], { cwd: root, encoding: "utf8", timeout: 300_000 });

function notebook(cells: { source: string; outputs?: unknown[]; count?: number | null }[]): string {
  return JSON.stringify({
    cells: cells.map((c, i) => ({ cell_type: "code", id: `c${i}`, metadata: {}, source: c.source, outputs: c.outputs ?? [], execution_count: c.count ?? null })),
    metadata: { kernelspec: { name: "clip-nad", display_name: "TypeScript (clip-nad)", language: "typescript" } }, nbformat: 4, nbformat_minor: 5,
  });
}

describe("committed notebooks", () => {
  it("carry no outputs and type-check cell by cell", () => {
    const files = fs.readdirSync(path.join(root, "notebooks")).filter((f) => f.endsWith(".ipynb")).map((f) => path.join("notebooks", f));
    expect(files.length).toBeGreaterThan(0);
    const r = check(files);
    expect(r.stdout + r.stderr, r.stdout + r.stderr).not.toMatch(/cell \d+:/);
    expect(r.status).toBe(0);
  }, 300_000);

  it("the check itself catches a type error, a deep cell dependency, saved outputs and execution counts", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-nbcheck-"));
    try {
      const bad = path.join(dir, "bad.ipynb");
      fs.writeFileSync(bad, notebook([
        { source: 'import { loadModel } from "clip-nad";\nconst n: number = 1;' },
        { source: "const s: string = n;" }, // uses the previous cell's declaration, wrongly
        { source: "console.log(1);", outputs: [{ output_type: "stream", name: "stdout", text: ["1\n"] }], count: 3 },
      ]));
      const r = check([bad]);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain("cell 1: line 1:7 - Type 'number' is not assignable to type 'string'.");
      expect(r.stdout).toContain("cell 2: has saved outputs");
      expect(r.stdout).toContain("cell 2: has an execution count (3)");
      expect(r.stdout).not.toContain("cell 0:");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
