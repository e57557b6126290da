import { describe, it, expect, beforeAll, afterAll } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import { collect } from "../src/collect";
import { fakeModel, sharpLoader, writeImageFolder } from "./collect.fake";
import { expectSameFolder } from "./collect.compare";

/**
 * kill -9 at any moment, rerun → byte-identical to an uninterrupted run. The child runs `collect` with the fake
 * model; it is killed either by the CLIP_NAD_COLLECT_CRASH hook at the risky points (between append, fsync,
 * progress rename, and inside finalize) or by SIGKILL from here while it runs with a per-batch delay.
 */
const root = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-resume-"));
const images = path.join(tmp, "images");
const reference = path.join(tmp, "reference");
const ARGS = { images, batchSize: 4, topK: 5 };

interface ChildResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function runChild(outDir: string, env: Record<string, string> = {}, killWhen?: (stdout: string) => boolean, killDelayMs = 0, commitIntervalMs = 0): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-r", "tsx/cjs", path.join(root, "test/collect.child.ts"), JSON.stringify({ ...ARGS, outDir, commitIntervalMs })], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    let stdout = "", stderr = "", killing = false;
    child.stdout.on("data", (b) => {
      stdout += b;
      if (killWhen && !killing && killWhen(stdout)) {
        killing = true;
        setTimeout(() => child.kill("SIGKILL"), killDelayMs);
      }
    });
    child.stderr.on("data", (b) => (stderr += b));
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

beforeAll(async () => {
  await writeImageFolder(images, 23, ["broken.png"]);
  await collect({ model: fakeModel(), ...ARGS, outDir: reference, loadPixels: sharpLoader });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function finishAndCompare(outDir: string): Promise<void> {
  const r = await runChild(outDir);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("done");
  expectSameFolder(reference, outDir);
}

describe("resume after kill -9", () => {
  const points = ["after-append:2", "after-fsync:3", "after-progress:1", "after-progress:6", "finalize-mid:1", "finalize-before-manifest:1"];
  for (const point of points) {
    it(`killed at ${point}`, async () => {
      const out = path.join(tmp, `crash-${point.replace(":", "-")}`);
      const r = await runChild(out, { CLIP_NAD_COLLECT_CRASH: point });
      expect(r.signal).toBe("SIGKILL");
      // really interrupted before completion
      expect(JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8")).complete).toBe(false);
      await finishAndCompare(out);
    });
  }

  it("killed repeatedly at different points, then finished", async () => {
    const out = path.join(tmp, "crash-repeated");
    for (const point of ["after-append:1", "after-fsync:2", "after-append:3", "finalize-mid:1"]) {
      const r = await runChild(out, { CLIP_NAD_COLLECT_CRASH: point });
      expect(r.signal).toBe("SIGKILL");
    }
    await finishAndCompare(out);
  });

  it("killed from outside while running (delay hook), at several moments, committing every batch or every ~2", async () => {
    for (const [after, delay, every] of [["collect 0/", 0, 0], ["collect 8/", 5, 0], ["collect 16/", 30, 0], ["collect 12/", 10, 150]] as [string, number, number][]) {
      const out = path.join(tmp, `kill-${after.replace(/\W/g, "")}-${every}`);
      const r = await runChild(out, { CLIP_NAD_COLLECT_DELAY_MS: "80" }, (s) => s.includes(after), delay, every);
      expect(r.signal).toBe("SIGKILL");
      expect(r.stdout).not.toContain("done");
      await finishAndCompare(out);
    }
  });
});
