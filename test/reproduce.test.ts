// clip-nad reproduce's cache: a notebook runs again exactly when one of its inputs changed, and a failed run is
// never cached (tiny notebooks in a folder of their own; the full run over notebooks/ is in notebooks.test.ts).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { reproduce } from "../src/report/reproduce";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-reproduce-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function notebook(file: string, sources: string[]) {
  fs.writeFileSync(
    file,
    JSON.stringify({
      cells: [
        { cell_type: "markdown", id: "m", metadata: {}, source: "# A tiny notebook\n\nIt prints." },
        ...sources.map((source, i) => ({
          cell_type: "code",
          id: `c${i}`,
          metadata: {},
          source,
          outputs: [],
          execution_count: null,
        })),
      ],
      metadata: { kernelspec: { name: "clip-nad", display_name: "TypeScript (clip-nad)", language: "typescript" } },
      nbformat: 4,
      nbformat_minor: 5,
    }),
  );
}

describe("clip-nad reproduce: caching by inputs", () => {
  const dir = path.join(tmp, "nbs");
  const out = path.join(tmp, "report");
  fs.mkdirSync(dir);
  notebook(path.join(dir, "a.ipynb"), ['import { showTable } from "clip-nad";\nshowTable([[1, 2]], ["x", "y"]);']);
  notebook(path.join(dir, "b.ipynb"), ['console.log("b", process.env.CLIP_NAD_MODEL);']);
  const run = () => reproduce({ outDir: out, notebooksDir: dir });

  it("runs every notebook, then skips the ones whose inputs did not change, then reruns an edited one", async () => {
    const first = await run();
    expect(first.notebooks.map((r) => [r.notebook, r.ok, r.cached])).toEqual([
      ["a.ipynb", true, false],
      ["b.ipynb", true, false],
    ]);
    expect(first.notebooks[0].title).toBe("A tiny notebook");
    expect(first.notebooks[0].tables).toBe(1);
    const executed = JSON.parse(fs.readFileSync(path.join(out, "notebooks", "b.ipynb"), "utf8"));
    expect(executed.cells[1].outputs[0].text.join("")).toBe("b toy\n"); // the model switch reaches the notebook
    const second = await run();
    expect(second.notebooks.map((r) => r.cached)).toEqual([true, true]);
    notebook(path.join(dir, "b.ipynb"), ['console.log("b edited");']);
    const third = await run();
    expect(third.notebooks.map((r) => r.cached)).toEqual([true, false]);
    const index = fs.readFileSync(third.index, "utf8");
    expect(index).toContain('href="pages/a.html"');
    expect(index).toContain("clip-nad-table");
  }, 300_000);

  it("a failing notebook is reported, its error shown in the report, and never cached", async () => {
    notebook(path.join(dir, "b.ipynb"), ["const s: string = 1;"]);
    const r = await run();
    const b = r.notebooks.find((x) => x.notebook === "b.ipynb")!;
    expect([b.ok, b.cached]).toEqual([false, false]);
    expect(b.error).toMatch(/FAIL/);
    expect(fs.readFileSync(r.index, "utf8")).toContain('<pre class="error">');
    const again = await run();
    expect(again.notebooks.find((x) => x.notebook === "b.ipynb")!.cached).toBe(false);
  }, 300_000);
});
