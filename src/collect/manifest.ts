import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { ClipConfig } from "../clip/config";
import { readJson } from "../io/atomic";

export { readJson, writeJsonAtomic, fsyncDir } from "../io/atomic";

/**
 * The JSON manifest of a collection (manifest.json) and its commit record (progress.json).
 * The manifest holds no timestamps or durations: a resumed run, an uninterrupted run and a merge of shards
 * must produce byte-identical folders.
 */
export const COLLECTION_FORMAT = "clip-nad-collection";
export const COLLECTION_VERSION = 2;

export { SkippedImage } from "../clip/imageBatch";
import { SkippedImage } from "../clip/imageBatch";

export interface CollectionManifest {
  format: typeof COLLECTION_FORMAT;
  version: number;
  /** The name it was loaded by, the resolved checkpoint file, its sha256 (the identity) and config. */
  model: { name: string; path: string; hash: string; config: ClipConfig };
  /** H heads, C neurons, d embedding dim, K spatial tokens. */
  shape: { H: number; C: number; d: number; K: number };
  /** The full sorted image list before selection: root folder, count and sha256 of the ids. */
  images: { root: string; total: number; idsHash: string };
  options: { stride: number; limit: number | null; shard: string | null; batchSize: number; topK: number };
  /** Number of selected images (before skipping unreadable ones). */
  selected: number;
  /** Filled at finalize. */
  complete: boolean;
  rows: number | null;
  skipped: SkippedImage[];
  files: Record<string, string>;
}

/** What is committed after each batch (progress.json, replaced atomically). */
export interface CollectProgress {
  /** Rows durably written to the data files. */
  rows: number;
  /** Selected positions processed (stored or skipped). */
  next: number;
  skipped: SkippedImage[];
}

export const FILES = {
  manifest: "manifest.json",
  progress: "progress.json",
  weights: "attnpool.safetensors",
  coefficients: "coefficients.npy",
  embeddings: "embeddings.npy",
  imageIndex: "image_index.npy",
  ids: "ids.json",
  paths: "paths.json",
  means: "mean_coefficients.npy",
  meanEmbedding: "mean_embedding.npy",
  pairTopIdx: "pair_topk_indices.npy",
  pairTopVal: "pair_topk_values.npy",
  pairTopDelta: "pair_topk_delta.npy",
  neuronTopIdx: "neuron_topk_indices.npy",
  neuronTopVal: "neuron_topk_values.npy",
  headTopIdx: "head_topk_indices.npy",
  headTopVal: "head_topk_values.npy",
} as const;

export const FILE_DESCRIPTIONS: Record<string, string> = {
  [FILES.coefficients]: "float32 N×H×C: s^{n,h}(I) per stored image (rows in image_index order)",
  [FILES.embeddings]: "float32 N×d: un-normalised image embedding M(I)",
  [FILES.imageIndex]: "int32 N: index of each row's image in the full sorted image list",
  [FILES.ids]: "JSON string[N]: image id of each row (its path relative to images.root, \"/\"-separated)",
  [FILES.paths]: "JSON string[N]: where each row's image was read (relative to images.root when below it, else absolute)",
  [FILES.means]: "float32 H×C: mean of s over the N rows (accumulated in float64, row order)",
  [FILES.meanEmbedding]: "float32 d: mean image embedding",
  [FILES.pairTopIdx]: "int32 H×C×k: rows with the largest centred pair norm |s−s̄|·|w|, descending (ties: lower row first)",
  [FILES.pairTopVal]: "float32 H×C×k: those centred pair norms",
  [FILES.pairTopDelta]: "float32 H×C×k: those centred coefficients s−s̄ (signed; the PC sign is their majority)",
  [FILES.neuronTopIdx]: "int32 C×k: rows with the largest centred neuron norm |Σ_h (s−s̄) w|",
  [FILES.neuronTopVal]: "float32 C×k: those centred neuron norms",
  [FILES.headTopIdx]: "int32 H×k: rows with the largest centred head norm |Σ_n (s−s̄) w|",
  [FILES.headTopVal]: "float32 H×k: those centred head norms",
  [FILES.weights]: "attention-pool weights (v_proj, c_proj, positional_embedding) used for w, c and the norms",
};

export function readManifest(dir: string): CollectionManifest {
  const file = path.join(dir, FILES.manifest);
  if (!fs.existsSync(file)) throw new ClipNadError("not a clip-nad collection (no manifest.json)", { file: dir });
  const m = readJson<CollectionManifest>(file);
  if (m.format !== COLLECTION_FORMAT) throw new ClipNadError(`not a clip-nad collection manifest (format '${m.format}')`, { file });
  if (m.version !== COLLECTION_VERSION) {
    throw new ClipNadError(`collection format version ${m.version}; this clip-nad reads version ${COLLECTION_VERSION} (collect it again)`, { file });
  }
  return m;
}

/**
 * The fields that must agree for a rerun to resume an existing folder: same model file, same image list,
 * same options (`ignoreShard`: shards of one collection, as merge checks them). Returns the first difference, or null.
 */
export function identityMismatch(existing: CollectionManifest, wanted: CollectionManifest, opts: { ignoreShard?: boolean } = {}): string | null {
  const checks: [string, unknown, unknown][] = [
    ["model hash", existing.model.hash, wanted.model.hash],
    ["image list (sha256 of sorted ids)", existing.images.idsHash, wanted.images.idsHash],
    ["image count", existing.images.total, wanted.images.total],
    ["image root", existing.images.root, wanted.images.root],
    ["stride", existing.options.stride, wanted.options.stride],
    ["limit", existing.options.limit, wanted.options.limit],
    ["shard", opts.ignoreShard ? null : existing.options.shard, opts.ignoreShard ? null : wanted.options.shard],
    ["batch size", existing.options.batchSize, wanted.options.batchSize],
    ["top-k", existing.options.topK, wanted.options.topK],
  ];
  for (const [what, a, b] of checks) if (a !== b) return `${what} differs: existing ${JSON.stringify(a)}, requested ${JSON.stringify(b)}`;
  return null;
}
