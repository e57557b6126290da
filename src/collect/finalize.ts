import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { readSafetensors } from "../weights/safetensors";
import { AttentionPoolWeights, HeadGram, NeuronGram, UnitNormsOrt, attentionPoolWeights, pairTables } from "../decompose";
import { readJson, writeFileAtomic, writeJsonAtomic } from "../io/atomic";
import { RowNpyReader, writeNpy } from "../io/npy";
import { TopK } from "../util/topk";
import { CollectProgress, CollectionManifest, FILES, FILE_DESCRIPTIONS, readManifest } from "./manifest";
import { crashPoint } from "./hooks";

/**
 * Finalize a collection folder from its committed rows alone: means, top-k per pair / neuron / head, ids and
 * the complete manifest. Everything is recomputed from the stored s in row order, so an interrupted run, a
 * resumed run and a merge of shards give byte-identical files. Memory: H·C·k (top-k) + one chunk of rows.
 */

/** Weight-only quantities the centred norms need (|w| per pair, per-neuron and per-head Gram matrices). */
export interface NormTables { apw: AttentionPoolWeights; wNorms: Float32Array; neuronGram: NeuronGram; headGram: HeadGram }

export function loadCollectionWeights(dir: string, manifest: CollectionManifest): AttentionPoolWeights {
  const file = path.join(dir, FILES.weights);
  const ck = readSafetensors(file);
  return attentionPoolWeights(ck.tensors, manifest.model.config, file);
}

/** Rows per chunk so that one chunk of s stays around 32 MB. */
export function chunkRows(H: number, C: number): number {
  return Math.max(1, Math.floor((8 * 1024 * 1024) / (H * C)));
}

/** Finalize progress: "tables" 0/1 → 1/1 (weight-only), "means" and "topk" r/N (two passes), "write" 0/1 → 1/1. */
export interface FinalizeEvent { phase: "tables" | "means" | "topk" | "write"; done: number; total: number }

export async function finalizeCollection(dir: string, onProgress?: (e: FinalizeEvent) => void): Promise<CollectionManifest> {
  const manifest = readManifest(dir);
  const progress = readJson<CollectProgress>(path.join(dir, FILES.progress));
  const { H, C, d } = manifest.shape;
  const HC = H * C;
  const coef = new RowNpyReader(path.join(dir, FILES.coefficients));
  const emb = new RowNpyReader(path.join(dir, FILES.embeddings));
  try {
    const N = progress.rows;
    if (coef.rows !== N || emb.rows !== N) {
      throw new ClipNadError(`data files hold ${coef.rows}/${emb.rows} rows but progress.json commits ${N}`, { file: dir });
    }
    if (N === 0) throw new ClipNadError(`no readable images were collected (${progress.skipped.length} skipped)`, { file: manifest.images.root || dir });
    onProgress?.({ phase: "tables", done: 0, total: 1 });
    const apw = loadCollectionWeights(dir, manifest);
    const tables: NormTables = { apw, ...(await pairTables(apw)) };
    onProgress?.({ phase: "tables", done: 1, total: 1 });
    const R = chunkRows(H, C);

    // Pass 1: means in float64, in row order.
    const sum = new Float64Array(HC);
    const esum = new Float64Array(d);
    for (let r0 = 0; r0 < N; r0 += R) {
      const n = Math.min(R, N - r0);
      const s = coef.readRows(r0, n) as Float32Array;
      const e = emb.readRows(r0, n) as Float32Array;
      for (let i = 0; i < n; i++) {
        const o = i * HC;
        for (let p = 0; p < HC; p++) sum[p] += s[o + p];
        for (let j = 0; j < d; j++) esum[j] += e[i * d + j];
      }
      onProgress?.({ phase: "means", done: r0 + n, total: N });
    }
    const mean64 = new Float64Array(HC);
    for (let p = 0; p < HC; p++) mean64[p] = sum[p] / N;
    const mean = Float32Array.from(mean64);
    const meanEmb = new Float32Array(d);
    for (let j = 0; j < d; j++) meanEmb[j] = esum[j] / N;

    // Pass 2: centred norms and top-k.
    const k = manifest.options.topK;
    const kOut = Math.min(k, N);
    const pairTop = new TopK(HC, k);
    const neuronTop = new TopK(C, k);
    const headTop = new TopK(H, k);
    const full = pairTop.count, worst = pairTop.score; // heap roots live at u·k
    const norms = await UnitNormsOrt.create(tables, { norm: "centred", mean });
    try {
      for (let r0 = 0; r0 < N; r0 += R) {
        const n = Math.min(R, N - r0);
        const s = coef.readRows(r0, n) as Float32Array;
        const { head, neuron } = await norms.run(s, n);
        // Pair-major over the chunk: each pair's heap stays in cache for its n offers (rows still increase).
        for (let p = 0; p < HC; p++) {
          const m = mean64[p];
          for (let i = 0; i < n; i++) {
            const dl = s[i * HC + p] - m;
            const a = dl < 0 ? -dl : dl;
            // Fast reject once the heap is full: rows arrive in increasing order, so an equal score loses too.
            if (full[p] === k && a <= worst[p * k]) continue;
            pairTop.offer(p, a, r0 + i, dl);
          }
        }
        for (let i = 0; i < n; i++) {
          for (let u = 0; u < C; u++) neuronTop.offer(u, neuron[u * n + i], r0 + i);
          for (let u = 0; u < H; u++) headTop.offer(u, head[u * n + i], r0 + i);
        }
        onProgress?.({ phase: "topk", done: r0 + n, total: N });
      }
    } finally {
      await norms.release();
    }

    onProgress?.({ phase: "write", done: 0, total: 1 });
    const pairs = pairTop.result(kOut, tables.wNorms);
    const neurons = neuronTop.result(kOut);
    const heads = headTop.result(kOut);
    writeNpy(path.join(dir, FILES.means), mean, [H, C]);
    writeNpy(path.join(dir, FILES.meanEmbedding), meanEmb, [d]);
    writeNpy(path.join(dir, FILES.pairTopIdx), pairs.rows, [H, C, kOut]);
    crashPoint("finalize-mid");
    writeNpy(path.join(dir, FILES.pairTopVal), pairs.scores, [H, C, kOut]);
    writeNpy(path.join(dir, FILES.pairTopDelta), pairs.aux, [H, C, kOut]);
    writeNpy(path.join(dir, FILES.neuronTopIdx), neurons.rows, [C, kOut]);
    writeNpy(path.join(dir, FILES.neuronTopVal), neurons.scores, [C, kOut]);
    writeNpy(path.join(dir, FILES.headTopIdx), heads.rows, [H, kOut]);
    writeNpy(path.join(dir, FILES.headTopVal), heads.scores, [H, kOut]);
    const rows = rowIds(dir, manifest, N);
    writeFileAtomic(path.join(dir, FILES.ids), JSON.stringify(rows.ids) + "\n");
    writeFileAtomic(path.join(dir, FILES.paths), JSON.stringify(rows.paths) + "\n");
    crashPoint("finalize-before-manifest");

    const done: CollectionManifest = {
      ...manifest,
      complete: true,
      rows: N,
      skipped: progress.skipped.slice().sort((a, b) => a.index - b.index),
      files: FILE_DESCRIPTIONS,
    };
    writeJsonAtomic(path.join(dir, FILES.manifest), done);
    onProgress?.({ phase: "write", done: 1, total: 1 });
    return done;
  } finally {
    coef.close();
    emb.close();
  }
}

/** Ids and stored paths of the rows, from image_index.npy and the lists written at the start. */
function rowIds(dir: string, manifest: CollectionManifest, N: number): { ids: string[]; paths: string[] } {
  const allIds = readJson<string[]>(path.join(dir, ALL_IDS));
  const allPaths = readJson<string[]>(path.join(dir, ALL_PATHS));
  const idx = new RowNpyReader(path.join(dir, FILES.imageIndex));
  try {
    if (idx.rows !== N) throw new ClipNadError(`image_index.npy holds ${idx.rows} rows, expected ${N}`, { file: dir });
    const rows = idx.readRows(0, N) as Int32Array;
    const ids: string[] = new Array(N);
    const paths: string[] = new Array(N);
    for (let i = 0; i < N; i++) {
      const id = allIds[rows[i]];
      if (id === undefined) throw new ClipNadError(`row ${i} points at image ${rows[i]} outside the ${manifest.images.total} images`, { file: dir });
      ids[i] = id;
      paths[i] = allPaths[rows[i]];
    }
    return { ids, paths };
  } finally {
    idx.close();
  }
}

/** The full sorted id list (all images before selection), written when a collection starts. */
export const ALL_IDS = "ids.all.json";
/** Where each image of that list is read, as stored (relative to the image root when below it). */
export const ALL_PATHS = "paths.all.json";

export function isComplete(dir: string): boolean {
  try {
    return readManifest(dir).complete === true && fs.existsSync(path.join(dir, FILES.ids));
  } catch {
    return false;
  }
}
