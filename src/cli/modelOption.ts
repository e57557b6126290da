import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { ClipNadError } from "../errors";
import { loadModel } from "../clip/model";
import { knownModelNames } from "../clip/resolve";
import { ClipModel } from "../clip/types";
import { Progress } from "./progress";

/** The `--model` and `--quiet` options shared by the commands that load a model. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option("--model <name|path>", `model name (${knownModelNames().join(", ")}) or checkpoint file (.pt, .bin, .safetensors)`, "toy")
    .option("--quiet", "no progress output");
}

/** Resolve (downloading a named model if needed) and load, with progress on stderr. */
export async function openModel(nameOrPath: string, quiet = false): Promise<{ model: ClipModel; name: string }> {
  const progress = new Progress(`loading ${nameOrPath}`, { quiet });
  try {
    // loadModel resolves the name itself (downloading when needed), so the model keeps the name it was asked by.
    const model = await loadModel(nameOrPath, { onProgress: (msg, frac) => progress.message(msg, frac) });
    progress.stop(`loaded ${nameOrPath} (${path.basename(model.path)}) in ${progress.elapsed().toFixed(1)} s`);
    return { model, name: nameOrPath };
  } catch (e) {
    progress.fail();
    throw e;
  }
}

/** The clip-nad version (package.json), recorded in manifests. */
export function clipNadVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "..", "package.json"), "utf8")).version as string;
  } catch {
    return "unknown";
  }
}

/** Output .npy path: must end in .npy; its folder is created. */
export function npyOutPath(out: string): string {
  if (!out.toLowerCase().endsWith(".npy")) throw new ClipNadError("--out must name a .npy file", { file: out });
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  return out;
}

/** FILE.npy → FILE.json (the sidecar describing the rows). */
export function sidecarPath(npyPath: string): string {
  return npyPath.replace(/\.npy$/i, ".json");
}

/** Parse a positive integer option. */
export function positiveInt(name: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new ClipNadError(`--${name} must be a positive integer, got '${text}'`);
  return v;
}

/** L2-normalise the rows of an N×d matrix in place. */
export function normaliseRows(data: Float32Array, d: number): void {
  for (let r = 0; r < data.length / d; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += data[r * d + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) data[r * d + j] *= inv;
  }
}
