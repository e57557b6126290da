import * as fs from "fs";
import * as path from "path";
import { Command, Option } from "commander";
import { ClipNadError } from "../errors";
import { loadModel } from "../clip/model";
import { knownModelNames } from "../clip/resolve";
import { ClipModel } from "../clip/types";
import { DEVICES, Device, parseDevice } from "../clip/device";
import { Progress } from "./progress";
import { normalizeRows } from "../util/rows";
import { writeNpy } from "../io/npy";
import { Collection, checkCollectionModel } from "../collect";

/** Help of `--device` (every command that runs a model). */
const DEVICE_HELP =
  "where the image and text towers run: cpu; webgpu (onnxruntime's bundled WebGPU provider: a GPU with a Vulkan " +
  "driver); cuda (Linux x64: needs onnxruntime-node's CUDA provider libraries, which setup does not download — with " +
  "internet: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js; see " +
  "bench/device/README.md)";

/** `--device cpu|webgpu|cuda` (default cpu). */
export function addDeviceOption(cmd: Command): Command {
  return cmd.addOption(new Option("--device <device>", DEVICE_HELP).choices(DEVICES).default("cpu"));
}

/**
 * The `--model`, `--device` and `--quiet` options shared by the commands that load a model (`device: false` for
 * commands that only read the checkpoint and run nothing).
 */
export function addModelOptions(cmd: Command, opts: { device?: boolean } = {}): Command {
  cmd.option(
    "--model <name|path>",
    `model name (${knownModelNames().join(", ")}) or checkpoint file (.pt, .bin, .safetensors)`,
    "toy",
  );
  if (opts.device !== false) addDeviceOption(cmd);
  return cmd.option("--quiet", "no progress output");
}

/** Resolve (downloading a named model if needed) and load on `device` (default cpu), with progress on stderr. */
export async function openModel(
  nameOrPath: string,
  quiet = false,
  device?: Device | string,
): Promise<{ model: ClipModel; name: string }> {
  const progress = new Progress(`loading ${nameOrPath}`, { quiet });
  try {
    // loadModel resolves the name itself (downloading when needed), so the model keeps the name it was asked by.
    const model = await loadModel(nameOrPath, {
      device: parseDevice(device),
      onProgress: (msg, frac) => progress.message(msg, frac),
    });
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

/** Output .json path: must end in .json; its folder is created. */
export function jsonOutPath(out: string): string {
  if (!out.toLowerCase().endsWith(".json")) throw new ClipNadError("--out must name a .json file", { file: out });
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  return out;
}

/** FILE.npy → FILE.json (the sidecar describing the rows). */
export function sidecarPath(npyPath: string): string {
  return npyPath.replace(/\.npy$/i, ".json");
}

/** Parse a positive integer option. */
/**
 * The model of a collection: `--model` when given, else the checkpoint the collection was made with (its path when
 * it still exists, else its name); refused, and released, when it is not the one that made the collection.
 */
export async function openCollectionModel(
  collection: Collection,
  modelOption: string | undefined,
  quiet = false,
  device?: Device | string,
): Promise<{ model: ClipModel; name: string }> {
  const made = collection.manifest.model;
  const opened = await openModel(modelOption ?? (made.path && fs.existsSync(made.path) ? made.path : made.name), quiet,
    device);
  try {
    checkCollectionModel(collection, opened.model);
  } catch (e) {
    await opened.model.dispose();
    throw e;
  }
  return opened;
}

/** A non-negative integer option (an index, or a count that may be 0). */
export function nonNegativeInt(name: string, text: string): number {
  const v = Number(text);
  if (!/^\s*\d+\s*$/.test(String(text)) || !Number.isInteger(v)) {
    throw new ClipNadError(`--${name} must be a non-negative integer, got '${text}'`);
  }
  return v;
}

export function positiveInt(name: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new ClipNadError(`--${name} must be a positive integer, got '${text}'`);
  return v;
}

/**
 * The shared tail of `embed` and `embed-text`: run `encode` under a progress bar, optionally L2-normalise the
 * rows, write OUT.npy (rows×d float32) and OUT.json (model, shape, the rows' sources in `describe`).
 */
export async function writeEmbeddings(opts: {
  model: ClipModel;
  name: string;
  out: string;
  /** Items the progress counts (images or texts listed). */
  total: number;
  label: string;
  unit: string;
  normalize?: boolean;
  quiet?: boolean;
  encode: (onProgress: (done: number) => void) => Promise<Float32Array>;
  /** What the rows are, called after encoding (the rows may be fewer than `total` when images were skipped). */
  describe: () => Record<string, unknown>;
}): Promise<void> {
  const { model, out } = opts;
  const d = model.config.embedDim;
  const progress = new Progress(opts.label, { total: opts.total, unit: opts.unit, quiet: opts.quiet });
  let emb: Float32Array;
  try {
    emb = await opts.encode((done) => progress.update(done));
  } catch (e) {
    progress.fail();
    throw e;
  }
  progress.stop();
  const rows = emb.length / d;
  if (opts.normalize) normalizeRows(emb, d);
  writeNpy(out, emb, [rows, d]);
  const sidecar = {
    model: opts.name,
    checkpoint: model.path,
    sha256: model.hash,
    shape: [rows, d],
    normalized: Boolean(opts.normalize),
    ...opts.describe(),
    clipNadVersion: clipNadVersion(),
  };
  fs.writeFileSync(sidecarPath(out), JSON.stringify(sidecar, null, 2) + "\n");
  console.log(`wrote ${out} (${rows}×${d} float32) and ${sidecarPath(out)}`);
}
