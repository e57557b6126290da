/**
 * The standalone widget bundle (build/widgets/standalone.js) that offline pages inline. Built by
 * `node widgets/build.mjs` (esbuild, ~2 s); rebuilt here when missing or older than the widget sources.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { standaloneBundlePath } from "./state";

/** The classic nbextension's folder name (its requirejs module is `nbextensions/<name>/extension`). */
export const NBEXTENSION_NAME = "clip-nad-widgets";

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

/** Path of an up-to-date standalone bundle (built from runtime dependencies only, when missing or stale). */
export function ensureStandaloneBundle(): string {
  return ensureBundles(["standalone.js"], ["--standalone"]);
}

/** The classic-notebook extension's folder (extension.js + plotly.min.js), built when missing or stale. */
export function ensureNbextensionBundle(): string {
  ensureBundles([`nbextension/${NBEXTENSION_NAME}/extension.js`], ["--nbextension"]);
  return path.join(path.dirname(standaloneBundlePath()), "nbextension", NBEXTENSION_NAME);
}

/** All bundles, including the test front end live.js (needs the devDependency @jupyterlab/services). */
export function ensureAllBundles(): string {
  const bundles = ["standalone.js", "live.js", "esm/index.js", `nbextension/${NBEXTENSION_NAME}/extension.js`];
  return ensureBundles(bundles, []);
}

function ensureBundles(names: string[], args: string[]): string {
  const out = standaloneBundlePath();
  // The front end also bundles the parts of src/ it imports (the protocol, top-k, the text types).
  const sources = Math.max(newestMtime(path.join(ROOT, "widgets")), newestMtime(path.join(ROOT, "src", "browser")), newestMtime(path.join(ROOT, "src", "util")));
  const outputs = names.map((n) => path.join(path.dirname(out), n));
  if (outputs.every((f) => fs.existsSync(f) && fs.statSync(f).mtimeMs >= sources)) return out;
  const r = spawnSync(process.execPath, [path.join(ROOT, "widgets", "build.mjs"), ...args], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0 || !outputs.every((f) => fs.existsSync(f) && fs.statSync(f).mtimeMs >= sources)) {
    throw new ClipNadError(`building the widget bundle failed: ${(r.stderr || r.stdout || "").trim().slice(0, 2000)}`, { file: "widgets/build.mjs" });
  }
  return out;
}
