import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { ClipModel } from "../clip/types";
import { tokensOf } from "../clip/config";
import { PixelLoader, clipPixelLoader, loadPixelBatch } from "../clip/imageBatch";
import { encodeSafetensors } from "../weights/safetensors";
import { Tensor } from "../weights/types";
import { ATTENTION_POOL_KEYS } from "../decompose/weights";
import { ImageItem, ImageSource, listImages } from "../data/images";
import { ensureDir, fsyncDir, readJson, writeFileAtomic, writeJsonAtomic } from "../io/atomic";
import { RowNpyWriter } from "../io/npy";
import { lockFolder } from "../io/lock";
import { SelectOptions, hashIds, selectIndices } from "./select";
import {
  COLLECTION_FORMAT, COLLECTION_VERSION, CollectProgress, CollectionManifest, FILES, SkippedImage, identityMismatch, readManifest,
} from "./manifest";
import { ALL_IDS, ALL_PATHS, FinalizeEvent, finalizeCollection } from "./finalize";
import { crashPoint, testDelay } from "./hooks";
import { Collection, openCollection } from "./collection";

export { PixelLoader, clipPixelLoader } from "../clip/imageBatch";

export interface CollectEvent {
  phase: "collect" | FinalizeEvent["phase"];
  /** Images processed (collect) or rows finalized. */
  done: number;
  total: number;
  skipped: number;
  /** Images already done by an earlier, interrupted run (collect phase). */
  resumedFrom: number;
}

export interface CollectOptions extends SelectOptions {
  model: ClipModel;
  /** A folder (src/data/images: recursive, sorted by id), a list of files, or a dataset reader's `{ root, items }`. */
  images: ImageSource;
  outDir: string;
  /** Images per forward pass (default 8). Part of the collection's identity: resume with the same value. */
  batchSize?: number;
  /** Top-k images per pair, neuron and head (default 50, as the paper). */
  topK?: number;
  onProgress?: (e: CollectEvent) => void;
  /**
   * Commit (fsync rows + progress.json) at most this often, and after the last batch (default 2000 ms; 0 = every
   * batch). A kill loses at most this much work; the result never depends on it.
   */
  commitIntervalMs?: number;
  /** Defaults to src/clip/preprocess (decode + CLIP transform). */
  loadPixels?: PixelLoader;
}

const DATA_FILES = [FILES.coefficients, FILES.embeddings, FILES.imageIndex];

/**
 * Stream a dataset through the model and store per image s (H×C) and the embedding (d), then finalize means and
 * top-k. Resumable: commit points are "rows appended + header + fsync, then progress.json renamed"; a rerun with
 * the same arguments cuts the data files back to the committed rows and continues, and gives byte-identical files
 * to an uninterrupted run. One writer per folder (src/io/lock).
 *
 * Memory: the model, two batches of preprocessed pixels (2·B·3·R² floats) and ONE decoded full-size image at a
 * time (src/clip/imageBatch): a folder of 16000² PNGs costs one 768 MB decode, not B of them.
 */
export async function collect(opts: CollectOptions): Promise<Collection> {
  if (fs.existsSync(opts.outDir) && !fs.statSync(opts.outDir).isDirectory()) {
    throw new ClipNadError("the collection path exists and is not a folder", { file: opts.outDir });
  }
  ensureDir(opts.outDir);
  const release = lockFolder(opts.outDir, "collection");
  try {
    return await collectLocked(opts);
  } finally {
    release();
  }
}

async function collectLocked(opts: CollectOptions): Promise<Collection> {
  const { model, outDir } = opts;
  const batchSize = opts.batchSize ?? 8;
  const topK = opts.topK ?? 50;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ClipNadError(`batch size must be a positive integer, got ${opts.batchSize}`);
  if (!Number.isInteger(topK) || topK < 1) throw new ClipNadError(`top-k must be a positive integer, got ${opts.topK}`);
  const source = listImages(opts.images);
  const selected = selectIndices(source.items.length, opts);
  const apw = model.attentionPool;
  const wanted: CollectionManifest = {
    format: COLLECTION_FORMAT,
    version: COLLECTION_VERSION,
    model: { name: model.name, path: path.resolve(model.path), hash: model.hash, config: model.config },
    shape: { H: apw.H, C: apw.C, d: apw.d, K: tokensOf(model.config) },
    images: { root: source.root, total: source.items.length, idsHash: hashIds(source.items) },
    options: {
      stride: opts.stride ?? 1,
      limit: opts.limit ?? null,
      shard: opts.shard ? `${opts.shard.index}/${opts.shard.count}` : null,
      batchSize,
      topK,
    },
    selected: selected.length,
    complete: false,
    rows: null,
    skipped: [],
    files: {},
  };

  const progress = openOrStart(outDir, wanted, model, source);
  if (progress === "complete") return openCollection(outDir);

  const { H, C, d } = wanted.shape;
  const writers = [
    RowNpyWriter.open(path.join(outDir, FILES.coefficients), "<f4", [H, C], progress.rows),
    RowNpyWriter.open(path.join(outDir, FILES.embeddings), "<f4", [d], progress.rows),
    RowNpyWriter.open(path.join(outDir, FILES.imageIndex), "<i4", [], progress.rows),
  ];
  const [coefW, embW, idxW] = writers;
  const load = opts.loadPixels ?? clipPixelLoader;
  const R = model.config.imageResolution;
  const commitEvery = opts.commitIntervalMs ?? 2000;
  const resumedFrom = progress.next;
  let pendingSkipped: SkippedImage[] = [];
  const report = (done: number) => opts.onProgress?.({
    phase: "collect", done, total: selected.length, skipped: progress.skipped.length + pendingSkipped.length, resumedFrom,
  });
  try {
    // Batches are fixed windows of selected positions, so a resumed run forms exactly the same batches.
    const loadBatch = (start: number) => loadPixelBatch(source.items, selected.slice(start, start + batchSize), R, load);
    let start = progress.next;
    let lastCommit = Date.now();
    report(start);
    let pending = start < selected.length ? loadBatch(start) : null;
    while (pending) {
      const batch = await pending;
      const nextStart = start + batchSize;
      pending = nextStart < selected.length ? loadBatch(nextStart) : null; // decode ahead while the model runs
      if (batch.ok.length > 0) {
        const B = batch.ok.length;
        const out = await model.encodeImagePixels(batch.pixels, B);
        if (out.coefficients.length !== B * H * C || out.embedding.length !== B * d) {
          throw new ClipNadError(`model returned ${out.coefficients.length} coefficients / ${out.embedding.length} embedding values for ${B} images (expected H×C=${H * C}, d=${d} each)`, { file: model.path });
        }
        coefW.append(out.coefficients, B);
        embW.append(out.embedding, B);
        idxW.append(Int32Array.from(batch.ok), B);
      }
      pendingSkipped.push(...batch.skipped);
      crashPoint("after-append");
      // Commit point (at most every commitEvery ms, and after the last batch): fsync the rows, then record them.
      if (pending === null || Date.now() - lastCommit >= commitEvery) {
        for (const w of writers) w.commit();
        crashPoint("after-fsync");
        progress.rows = coefW.rows;
        progress.next = Math.min(nextStart, selected.length);
        progress.skipped.push(...pendingSkipped);
        pendingSkipped = [];
        writeJsonAtomic(path.join(outDir, FILES.progress), progress);
        crashPoint("after-progress");
        lastCommit = Date.now();
      }
      report(Math.min(nextStart, selected.length));
      start = nextStart;
      await testDelay();
    }
  } finally {
    for (const w of writers) w.close();
  }
  if (progress.rows === 0) {
    const where = source.root || outDir;
    throw new ClipNadError(`none of the ${selected.length} selected images could be read (first error: ${progress.skipped[0]?.reason ?? "none"})`, { file: where });
  }
  await finalizeCollection(outDir, (e) => opts.onProgress?.({ ...e, skipped: progress.skipped.length, resumedFrom }));
  return openCollection(outDir);
}

/** Decide between fresh start, resume and "already complete"; verify identity on resume. */
function openOrStart(outDir: string, wanted: CollectionManifest, model: ClipModel, source: { root: string; items: ImageItem[] }): CollectProgress | "complete" {
  const manifestFile = path.join(outDir, FILES.manifest);
  const progressFile = path.join(outDir, FILES.progress);
  if (fs.existsSync(manifestFile)) {
    // A kill during a temp-file write leaves "*.tmp" behind; it never holds committed data.
    for (const f of fs.readdirSync(outDir)) if (f.endsWith(".tmp")) fs.rmSync(path.join(outDir, f), { force: true });
    const existing = readManifest(outDir);
    const diff = identityMismatch(existing, wanted);
    if (diff) {
      throw new ClipNadError(`this folder holds a different collection (${diff}); collect into another folder or delete this one`, { file: manifestFile });
    }
    if (fs.existsSync(progressFile)) {
      const p = readJson<CollectProgress>(progressFile);
      if (existing.complete && p.next >= wanted.selected) return "complete";
      return p;
    }
  } else if (fs.readdirSync(outDir).some((f) => !f.startsWith("."))) {
    throw new ClipNadError("the folder is not empty and is not a clip-nad collection; choose an empty or new folder", { file: outDir });
  }
  // Fresh start (also after a kill before the first progress.json): write everything that does not change.
  writeJsonAtomic(manifestFile, wanted);
  writeFileAtomic(path.join(outDir, ALL_IDS), JSON.stringify(source.items.map((it) => it.id)) + "\n");
  writeFileAtomic(path.join(outDir, ALL_PATHS), JSON.stringify(source.items.map((it) => storedPath(source.root, it.path))) + "\n");
  const apw = model.attentionPool;
  const tensors: Record<string, [number[], Float32Array]> = {
    "visual.attnpool.v_proj.weight": [[apw.C, apw.C], apw.Wv],
    "visual.attnpool.v_proj.bias": [[apw.C], apw.bv],
    "visual.attnpool.c_proj.weight": [[apw.d, apw.C], apw.Wo],
    "visual.attnpool.c_proj.bias": [[apw.d], apw.bo],
    "visual.attnpool.positional_embedding": [[apw.K + 1, apw.C], apw.pos],
  };
  const keep: [string, Tensor][] = ATTENTION_POOL_KEYS.map((k) => [k, { shape: tensors[k][0], data: tensors[k][1], storedDtype: "float32" }]);
  writeFileAtomic(path.join(outDir, FILES.weights), encodeSafetensors(keep, { dtype: "F32" }));
  for (const f of DATA_FILES) fs.rmSync(path.join(outDir, f), { force: true });
  const fresh: CollectProgress = { rows: 0, next: 0, skipped: [] };
  fsyncDir(outDir);
  writeJsonAtomic(progressFile, fresh);
  return fresh;
}

/** An image's path as the collection stores it: relative to the image root when below it, else absolute. */
function storedPath(root: string, file: string): string {
  const abs = path.resolve(file);
  if (!root) return abs;
  const rel = path.relative(root, abs);
  return rel.startsWith("..") || path.isAbsolute(rel) ? abs : rel.split(path.sep).join("/");
}
