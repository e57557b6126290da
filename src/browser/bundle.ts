/**
 * The standalone widget bundle (build/widgets/standalone.js) that offline pages inline. Built by
 * `node widgets/build.mjs` (esbuild, ~2 s); rebuilt here when missing or older than the widget sources.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { standaloneBundlePath } from "./state";

const ROOT = path.join(__dirname, "..", "..");

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== "node_modules" && e.name !== "build") t = Math.max(t, newestMtime(p)); }
    else if (/\.(ts|json|mjs)$/.test(e.name) && !e.name.endsWith(".test.ts")) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Path of an up-to-date standalone bundle (building it, and live.js next to it, if needed). */
export function ensureStandaloneBundle(): string {
  const out = standaloneBundlePath();
  const sources = Math.max(newestMtime(path.join(ROOT, "widgets")), fs.statSync(path.join(__dirname, "protocol.ts")).mtimeMs);
  const outputs = [out, path.join(path.dirname(out), "live.js")];
  if (outputs.every((f) => fs.existsSync(f) && fs.statSync(f).mtimeMs >= sources)) return out;
  const r = spawnSync(process.execPath, [path.join(ROOT, "widgets", "build.mjs")], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0 || !outputs.every((f) => fs.existsSync(f))) {
    throw new ClipNadError(`building the widget bundle failed: ${(r.stderr || r.stdout || "").trim().slice(0, 2000)}`, { file: "widgets/build.mjs" });
  }
  return out;
}
