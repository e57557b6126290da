import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { AttentionPoolWeights, Decomposition, Pair, checkHead, checkNeuron, decompositionOf, pairIndex } from "../decompose";
import { readJson } from "../io/atomic";
import { RowNpyReader, readNpy } from "../io/npy";
import { CollectionManifest, FILES, readManifest } from "./manifest";
import { chunkRows, loadCollectionWeights } from "./finalize";

/** Top-k rows of one unit, best first. `delta` (pairs only) is the signed s − s̄ of each row. */
export interface TopKEntry { rows: Int32Array; values: Float32Array; delta?: Float32Array }

/** Top-k table of a whole level: `indices`/`values` are units×k row-major. */
export interface TopKTable { k: number; indices: Int32Array; values: Float32Array }

export interface CoefficientChunk { start: number; count: number; /** count×H×C */ data: Float32Array }

/**
 * A finished collection folder, read lazily: the N×H×C coefficients stay on disk and are read by row or chunk;
 * the small arrays (means, top-k, embeddings) are loaded on first use. Implements src/analysis `CoefficientRows`
 * ({N, H, C, row(i)}), so every analysis streams over a collection directly.
 */
export class Collection {
  readonly manifest: CollectionManifest;
  readonly H: number;
  readonly C: number;
  readonly d: number;
  readonly N: number;
  private reader: RowNpyReader | null = null;
  private cache = new Map<string, unknown>();

  constructor(readonly dir: string) {
    this.manifest = readManifest(dir);
    if (!this.manifest.complete || this.manifest.rows === null) {
      throw new ClipNadError("the collection is not finished (resume it by collecting again with the same settings)", { file: dir });
    }
    ({ H: this.H, C: this.C, d: this.d } = this.manifest.shape);
    this.N = this.manifest.rows;
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  private load<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  private array(name: string, shape: number[]): Float32Array | Int32Array {
    return this.load(name, () => {
      const { data, shape: got } = readNpy(this.file(name));
      if (got.length !== shape.length || got.some((v, i) => v !== shape[i])) {
        throw new ClipNadError(`shape (${got}) does not match the manifest's (${shape})`, { file: this.file(name) });
      }
      return data as Float32Array | Int32Array;
    });
  }

  /** Image id of every row. */
  get ids(): string[] {
    return this.load("ids", () => readJson<string[]>(this.file(FILES.ids)));
  }

  /** Where each row's image was read, as stored (relative to `manifest.images.root` when below it). */
  get storedPaths(): string[] {
    return this.load("paths", () => readJson<string[]>(this.file(FILES.paths)));
  }

  /**
   * The image file of a row. `root` replaces the collection's image root (the images moved); files stored by
   * absolute path are returned as they are.
   */
  imagePath(row: number, root?: string): string {
    this.checkRow(row);
    const stored = this.storedPaths[row];
    if (path.isAbsolute(stored)) return stored;
    return path.join(root ?? this.manifest.images.root, stored);
  }

  /** The model's weight-only tables (w, c, |w|, Grams), shared with a loaded model of the same checkpoint. */
  decomposition(): Promise<Decomposition> {
    return decompositionOf(this.weights, this.manifest.model.hash);
  }

  /** Index of every row's image in the full sorted image list (int32 N). */
  get imageIndex(): Int32Array {
    return this.array(FILES.imageIndex, [this.N]) as Int32Array;
  }

  /** Mean of s over the rows, H×C. */
  get meanCoefficients(): Float32Array {
    return this.array(FILES.means, [this.H, this.C]) as Float32Array;
  }

  get meanEmbedding(): Float32Array {
    return this.array(FILES.meanEmbedding, [this.d]) as Float32Array;
  }

  /** All image embeddings, N×d (small: N·d floats). */
  get embeddings(): Float32Array {
    return this.array(FILES.embeddings, [this.N, this.d]) as Float32Array;
  }

  embeddingOf(i: number): Float32Array {
    this.checkRow(i);
    return this.embeddings.subarray(i * this.d, (i + 1) * this.d);
  }

  private coefficients(): RowNpyReader {
    if (!this.reader) {
      this.reader = new RowNpyReader(this.file(FILES.coefficients));
      if (this.reader.rows !== this.N || this.reader.rowElems !== this.H * this.C) {
        throw new ClipNadError(`coefficients shape (${this.reader.info.shape}) does not match the manifest (${this.N}, ${this.H}, ${this.C})`, { file: this.reader.path });
      }
    }
    return this.reader;
  }

  private checkRow(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.N) throw new ClipNadError(`row ${i} out of range 0..${this.N - 1}`, { file: this.dir });
  }

  /** s of row i, H×C (h-major: s[h·C + n]). */
  coefficientsOf(i: number): Float32Array {
    this.checkRow(i);
    return this.coefficients().readRows(i, 1) as Float32Array;
  }

  private rowCache: CoefficientChunk | null = null;

  /**
   * s of row i as a view into a cached chunk (the analyses' CoefficientRows interface: sequential passes read
   * each chunk once). Do not keep the view across calls; copy it or use coefficientsOf.
   */
  row(i: number): Float32Array {
    const c = this.rowCache;
    if (!c || i < c.start || i >= c.start + c.count) {
      this.checkRow(i);
      const R = Math.max(1, Math.floor(chunkRows(this.H, this.C) / 4));
      const start = i - (i % R);
      const count = Math.min(R, this.N - start);
      this.rowCache = { start, count, data: this.coefficientRows(start, count) };
    }
    const k = i - this.rowCache!.start;
    const HC = this.H * this.C;
    return this.rowCache!.data.subarray(k * HC, (k + 1) * HC);
  }

  /** Rows [start, start+count) of s, count×H×C. */
  coefficientRows(start: number, count: number): Float32Array {
    return this.coefficients().readRows(start, count) as Float32Array;
  }

  /** Iterate over s in chunks of rows (default ≈ 32 MB per chunk). */
  *chunks(rowsPerChunk = chunkRows(this.H, this.C)): IterableIterator<CoefficientChunk> {
    for (let start = 0; start < this.N; start += rowsPerChunk) {
      const count = Math.min(rowsPerChunk, this.N - start);
      yield { start, count, data: this.coefficientRows(start, count) };
    }
  }

  /** k actually stored (min(topK, N)). */
  get k(): number {
    return Math.min(this.manifest.options.topK, this.N);
  }

  /** Top-k by centred pair norm |s−s̄|·|w|: H×C×k. */
  get pairTopK(): TopKTable & { delta: Float32Array } {
    const shape = [this.H, this.C, this.k];
    return {
      k: this.k,
      indices: this.array(FILES.pairTopIdx, shape) as Int32Array,
      values: this.array(FILES.pairTopVal, shape) as Float32Array,
      delta: this.array(FILES.pairTopDelta, shape) as Float32Array,
    };
  }

  /** Top-k by centred neuron norm: C×k. */
  get neuronTopK(): TopKTable {
    const shape = [this.C, this.k];
    return { k: this.k, indices: this.array(FILES.neuronTopIdx, shape) as Int32Array, values: this.array(FILES.neuronTopVal, shape) as Float32Array };
  }

  /** Top-k by centred head norm: H×k. */
  get headTopK(): TopKTable {
    const shape = [this.H, this.k];
    return { k: this.k, indices: this.array(FILES.headTopIdx, shape) as Int32Array, values: this.array(FILES.headTopVal, shape) as Float32Array };
  }

  /** Top-k rows of a pair by centred norm, best first. */
  topPair(pair: Pair): TopKEntry {
    const t = this.pairTopK;
    const o = pairIndex(this, pair) * t.k;
    return { rows: t.indices.subarray(o, o + t.k), values: t.values.subarray(o, o + t.k), delta: t.delta.subarray(o, o + t.k) };
  }

  /** Top-k rows of a neuron by centred norm, best first. */
  topNeuron(neuron: number): TopKEntry {
    const t = this.neuronTopK;
    const n = checkNeuron(this, neuron);
    return { rows: t.indices.subarray(n * t.k, (n + 1) * t.k), values: t.values.subarray(n * t.k, (n + 1) * t.k) };
  }

  /** Top-k rows of a head by centred norm, best first. */
  topHead(head: number): TopKEntry {
    const t = this.headTopK;
    const h = checkHead(this, head);
    return { rows: t.indices.subarray(h * t.k, (h + 1) * t.k), values: t.values.subarray(h * t.k, (h + 1) * t.k) };
  }

  /** The attention-pool weights saved with the collection (for w, c without the checkpoint). */
  get weights(): AttentionPoolWeights {
    return this.load("weights", () => loadCollectionWeights(this.dir, this.manifest));
  }

  /** Total bytes of the folder's files. */
  diskBytes(): number {
    let total = 0;
    for (const f of fs.readdirSync(this.dir)) total += fs.statSync(this.file(f)).size;
    return total;
  }

  close(): void {
    this.rowCache = null;
    this.reader?.close();
    this.reader = null;
  }
}

/** Refuse a model other than the one that made the collection (sha256 of the checkpoint vs the manifest's). */
export function checkCollectionModel(collection: Collection, model: { name?: string; hash: string }): void {
  const made = collection.manifest.model;
  if (model.hash !== made.hash) {
    throw new ClipNadError(`the collection was made with model ${made.name} (sha256 ${made.hash.slice(0, 12)}…), ` +
      `not ${model.name ?? "this model"} (sha256 ${model.hash.slice(0, 12)}…)`, { file: collection.dir });
  }
}

export function openCollection(dir: string): Collection {
  return new Collection(dir);
}
