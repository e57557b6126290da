import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ClipNadError } from "../errors";
import { ProgressFn, downloadFile } from "./download";
import { fileSha256 } from "../io/hash";

/**
 * Model resolution like OpenAI's `clip.load`: a known name → the cached checkpoint (downloaded with its SHA256
 * check when absent or corrupt), "toy" → the embedded default model, anything else → an existing file path.
 */

export interface KnownModel {
  url: string;
  sha256: string;
  /** Bytes of the published file (for progress when the server sends no length). */
  size?: number;
  /** Input resolution n_px of the model. */
  resolution?: number;
}

const OPENAI = "https://openaipublic.azureedge.net/clip/models";

/** OpenAI's published CLIP-ResNet checkpoints (openai/CLIP clip/clip.py `_MODELS`; the URL embeds the sha256). */
export const CLIP_MODELS: Record<string, KnownModel> = {
  RN50: { url: `${OPENAI}/afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762/RN50.pt`, sha256: "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762", size: 255827503, resolution: 224 },
  RN101: { url: `${OPENAI}/8fa8567bab74a42d41c5915025a8e4538c3bdbe8804a470a72f30b0d94fab599/RN101.pt`, sha256: "8fa8567bab74a42d41c5915025a8e4538c3bdbe8804a470a72f30b0d94fab599", size: 291791292, resolution: 224 },
  RN50x4: { url: `${OPENAI}/7e526bd135e493cef0776de27d5f42653e6b4c8bf9e0f653bb11773263205fdd/RN50x4.pt`, sha256: "7e526bd135e493cef0776de27d5f42653e6b4c8bf9e0f653bb11773263205fdd", size: 421854225, resolution: 288 },
  RN50x16: { url: `${OPENAI}/52378b407f34354e150460fe41077663dd5b39c54cd0bfd2b27167a4a06ec9aa/RN50x16.pt`, sha256: "52378b407f34354e150460fe41077663dd5b39c54cd0bfd2b27167a4a06ec9aa", size: 661125706, resolution: 384 },
  RN50x64: { url: `${OPENAI}/be1cfb55d75a9666199fb2206c106743da0f6468c9d327f3e0d0a543a9919d9c/RN50x64.pt`, sha256: "be1cfb55d75a9666199fb2206c106743da0f6468c9d327f3e0d0a543a9919d9c", size: 1353500174, resolution: 448 },
};

export const TOY_MODEL_NAME = "toy";
/** The embedded default model, relative to this source file (src/clip → assets/toy). */
export const TOY_MODEL_PATH = path.resolve(__dirname, "..", "..", "assets", "toy", "toyclip.safetensors");

export interface ResolveOptions {
  /** Where named checkpoints live; default $CLIP_CACHE_DIR or ~/.cache/clip (the same folder clip.load uses). */
  cacheDir?: string;
  onProgress?: ProgressFn;
  /** Replaces the table of downloadable models (tests point it at a local server). */
  models?: Record<string, KnownModel>;
}

export function defaultClipCacheDir(): string {
  return process.env.CLIP_CACHE_DIR || path.join(os.homedir(), ".cache", "clip");
}

/** Names accepted by resolveModel, for help texts and error messages. */
export function knownModelNames(models: Record<string, KnownModel> = CLIP_MODELS): string[] {
  return [TOY_MODEL_NAME, ...Object.keys(models)];
}

function lookupName(name: string, models: Record<string, KnownModel>): string | undefined {
  if (name in models) return name;
  return Object.keys(models).find((k) => k.toLowerCase() === name.toLowerCase());
}

/** Resolve a model name or checkpoint path to a local checkpoint file (downloading a named model if needed). */
export async function resolveModel(nameOrPath: string, opts: ResolveOptions = {}): Promise<string> {
  const models = opts.models ?? CLIP_MODELS;
  if (!nameOrPath) throw new ClipNadError(`no model given; use one of ${knownModelNames(models).join(", ")} or a checkpoint file path`);
  if (nameOrPath.toLowerCase() === TOY_MODEL_NAME) {
    if (!fs.existsSync(TOY_MODEL_PATH)) {
      throw new ClipNadError("the embedded toy model is missing (it is produced by the toy-world build, see assets/toy/MODEL_CARD.md); pass a checkpoint path or a CLIP name instead", { file: TOY_MODEL_PATH });
    }
    return TOY_MODEL_PATH;
  }
  const name = lookupName(nameOrPath, models);
  if (name) return ensureNamedModel(name, models[name], opts);
  if (fs.existsSync(nameOrPath)) {
    if (!fs.statSync(nameOrPath).isFile()) throw new ClipNadError("expected a checkpoint file, got a directory", { file: nameOrPath });
    return path.resolve(nameOrPath);
  }
  throw new ClipNadError(
    `no such checkpoint file, and not a known model name (known: ${knownModelNames(models).join(", ")})`,
    { file: nameOrPath },
  );
}

async function ensureNamedModel(name: string, model: KnownModel, opts: ResolveOptions): Promise<string> {
  const dir = opts.cacheDir ?? defaultClipCacheDir();
  const target = path.join(dir, `${name}.pt`);
  if (fs.existsSync(target)) {
    if (!fs.statSync(target).isFile()) throw new ClipNadError("exists and is not a regular file", { file: target });
    opts.onProgress?.(`verifying ${name}.pt`);
    if ((await fileSha256(target)) === model.sha256) return target;
    opts.onProgress?.(`${target} exists, but the SHA256 checksum does not match; re-downloading the file`);
  }
  await downloadFile(model.url, target, {
    sha256: model.sha256,
    onProgress: opts.onProgress,
    offlineHint: `If this machine is offline, download ${model.url} elsewhere and put it at ${target} (sha256 ${model.sha256}), or pass the file's path as the model.`,
  });
  return target;
}
