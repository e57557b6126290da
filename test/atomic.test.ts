// writeFileAtomic from two processes at once on one target (two notebooks or two array tasks on one node filling
// the same cache entry): neither fails, and a reader only ever sees one writer's whole file.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");

function writer(file: string, byte: number, times: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["-r", "tsx/cjs", path.join(root, "test/atomic.child.ts"), file, String(byte), String(times)],
      {
        cwd: root,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("writeFileAtomic", () => {
  it("two processes writing the same file at once both succeed; readers see whole files only; no temp file is " +
      "left", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-atomic-"));
    const file = path.join(dir, "entry.bin");
    const seen: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        if (fs.existsSync(file)) {
          const b = fs.readFileSync(file);
          seen.push(b.length === 1 << 20 && b.every((x) => x === b[0]) ? "whole" : `torn (${b.length} bytes)`);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const [a, b] = await Promise.all([writer(file, 7, 150), writer(file, 9, 150)]);
    reading = false;
    await reader;
    expect(a.stderr + b.stderr).toBe("");
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(seen.filter((s) => s !== "whole")).toEqual([]);
    const final = fs.readFileSync(file);
    expect([7, 9]).toContain(final[0]);
    expect(final.every((x) => x === final[0])).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(["entry.bin"]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
