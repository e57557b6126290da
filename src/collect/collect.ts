import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { ClipModel } from "../clip/types";
import { tokensOf } from "../clip/config";
import { loadImageRGB, preprocessRGB } from "../clip/preprocess";
import { writeSafetensors } from "../weights/safetensors";
import { Tensor } from "../weights/types";
import { attentionPoolWeights } from "../decompose";
import { ImageItem, ImageSource, SelectOptions, hashIds, resolveImageSource, selectIndices } from "./images";
import {
  COLLECTION_FORMAT, COLLECTION_VERSION, CollectProgress, CollectionManifest, FILES, SkippedImage,
  fsyncDir, identityMismatch, readJson, readManifest, writeJsonAtomic,
} from "./manifest";
import { RowNpyWriter, writeFileAtomic } from "./npyFile";
import { ALL_IDS, FinalizeEvent, finalizeCollection } from "./finalize";
import { crashPoint, testDelay } from "./hooks";
import { Collection, openCollection } from "./collection";

/** Turns an image file into preprocessed pixels (3×R×R float32); throws for unreadable files. */
export type PixelLoader = (file: string, resolution: number) => Promise<Float32Array>;

export interface CollectEvent {
  phase: "collect" | FinalizeEvent["phase"];
  /** Images processed (collect) or rows finalized. */
  done: number;
  total: number;
  skipped: number;
}

export interface CollectOptions extends SelectOptions {
  model: ClipModel;
  /** A folder (recursive, sorted by relative path), a list of files, or a dataset reader's `{ items }`. */
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
 * Stream a dataset through the model and store per image s (H×C) and the embedding (d), then finalize means
 * and top-k. Resumable: commit points are "rows appended + header + fsync, then progress.json renamed";
 * a rerun with the same arguments cuts the data files back to the committed rows and continues, and gives
 * byte-identical files to an uninterrupted run.
 */
export async function collect(opts: CollectOptions): Promise<Collection> {
  if (fs.existsSync(opts.outDir) && !fs.statSync(opts.outDir).isDirectory()) {
    throw new ClipNadError("output path exists and is not a folder", { file: opts.outDir });
  }
  fs.mkdirSync(opts.outDir, { recursive: true });
  const release = acquireLock(opts.outDir);
  try {
    return await collectLocked(opts);
  } finally {
    release();
  }
}

const LOCK = ".collect.lock";

/**
 * One writer per folder: an exclusive lock file holding the pid. A lock left by a killed run (its pid is gone)
 * is taken over, so kill -9 + rerun just works; a live one is a clear error.
 */
function acquireLock(outDir: string): () => void {
  const file = path.join(outDir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, "wx");
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(fs.readFileSync(file, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new ClipNadError(`another clip-nad collect (pid ${pid}) is writing this folder; wait for it or stop it`, { file: outDir });
      }
      fs.rmSync(file, { force: true }); // stale: its writer was killed
    }
  }
  throw new ClipNadError("cannot take the collection lock", { file: path.join(outDir, LOCK) });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function collectLocked(opts: CollectOptions): Promise<Collection> {
  const { model, outDir } = opts;
  const batchSize = opts.batchSize ?? 8;
  const topK = opts.topK ?? 50;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ClipNadError(`batch size must be a positive integer, got ${opts.batchSize}`);
  if (!Number.isInteger(topK) || topK < 1) throw new ClipNadError(`top-k must be a positive integer, got ${opts.topK}`);
  const source = resolveImageSource(opts.images);
  const selected = selectIndices(source.items.length, opts);
  const apw = attentionPoolWeights(model.weights, model.config, model.path);
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

  const progress = openOrStart(outDir, wanted, model, source.items);
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
  let pendingSkipped: SkippedImage[] = [];
  const report = (done: number) => opts.onProgress?.({ phase: "collect", done, total: selected.length, skipped: progress.skipped.length + pendingSkipped.length });
  try {
    // Batches are fixed windows of selected positions, so a resumed run forms exactly the same batches.
    const loadBatch = (start: number) => loadImages(selected.slice(start, start + batchSize), source.items, R, load);
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
  await finalizeCollection(outDir, (e) => opts.onProgress?.({ ...e, skipped: progress.skipped.length }));
  return openCollection(outDir);
}

/** Decide between fresh start, resume and "already complete"; verify identity on resume. */
function openOrStart(outDir: string, wanted: CollectionManifest, model: ClipModel, items: ImageItem[]): CollectProgress | "complete" {
  const manifestFile = path.join(outDir, FILES.manifest);
  const progressFile = path.join(outDir, FILES.progress);
  if (fs.existsSync(manifestFile)) {
    // A kill during a temp-file write leaves "*.tmp" behind; it never holds committed data.
    for (const f of fs.readdirSync(outDir)) if (f.endsWith(".tmp")) fs.rmSync(path.join(outDir, f), { force: true });
    const existing = readManifest(outDir);
    const diff = identityMismatch(existing, wanted);
    if (diff) {
      throw new ClipNadError(`this folder holds a different collection (${diff}); use another --out folder or delete this one`, { file: manifestFile });
    }
    if (fs.existsSync(progressFile)) {
      const p = readJson<CollectProgress>(progressFile);
      if (existing.complete && p.next >= wanted.selected) return "complete";
      return p;
    }
  } else if (fs.existsSync(outDir) && fs.readdirSync(outDir).some((f) => !f.startsWith("."))) {
    throw new ClipNadError("output folder exists, is not empty and is not a clip-nad collection; choose an empty or new folder", { file: outDir });
  }
  // Fresh start (also after a kill before the first progress.json): write everything that does not change.
  fs.mkdirSync(outDir, { recursive: true });
  writeJsonAtomic(manifestFile, wanted);
  writeFileAtomic(path.join(outDir, ALL_IDS), JSON.stringify(items.map((it) => it.id)) + "\n");
  const keep: [string, Tensor][] = [];
  for (const key of ["v_proj.weight", "v_proj.bias", "c_proj.weight", "c_proj.bias", "positional_embedding"]) {
    const name = `visual.attnpool.${key}`;
    const t = model.weights.get(name);
    if (t) keep.push([name, t]);
  }
  const wtmp = path.join(outDir, `${FILES.weights}.tmp`);
  writeSafetensors(wtmp, keep, { dtype: "F32" });
  fs.renameSync(wtmp, path.join(outDir, FILES.weights));
  for (const f of DATA_FILES) fs.rmSync(path.join(outDir, f), { force: true });
  const fresh: CollectProgress = { rows: 0, next: 0, skipped: [] };
  fsyncDir(outDir);
  writeJsonAtomic(progressFile, fresh);
  return fresh;
}

interface LoadedBatch { pixels: Float32Array; ok: number[]; skipped: SkippedImage[] }

async function loadImages(indices: number[], items: ImageItem[], R: number, load: PixelLoader): Promise<LoadedBatch> {
  const per = 3 * R * R;
  const results = await Promise.all(indices.map(async (i) => {
    try {
      const px = await load(items[i].path, R);
      if (px.length !== per) throw new Error(`preprocessing gave ${px.length} values, expected 3×${R}×${R}`);
      return { i, px };
    } catch (e) {
      return { i, error: e instanceof Error ? e.message : String(e) };
    }
  }));
  const ok: number[] = [];
  const skipped: SkippedImage[] = [];
  const good = results.filter((r) => r.px !== undefined);
  const pixels = new Float32Array(good.length * per);
  for (const r of results) {
    if (r.px) {
      pixels.set(r.px, ok.length * per);
      ok.push(r.i);
    } else skipped.push({ index: r.i, id: items[r.i].id, reason: r.error ?? "unreadable" });
  }
  return { pixels, ok, skipped };
}

/** The io module's decode + CLIP preprocessing (bicubic shortest side, centre crop, mean/std; PIL-exact). */
export const clipPixelLoader: PixelLoader = async (file, resolution) => preprocessRGB(await loadImageRGB(file), resolution);
