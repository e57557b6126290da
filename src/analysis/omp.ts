import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ClipNadError } from "../errors";
import { readJson, writeJsonAtomic, ensureDir } from "../io/atomic";
import { lockFolder } from "../io/lock";
import { readNpy, writeNpy } from "../io/npy";
import { writeCsrNpz } from "../io/npz";
import { OrtGemm } from "../onnx/gemm";
import { topIndices } from "../util/topk";
import { ChunkEncoder, LocalChunkEncoder, PooledChunkEncoder } from "./ompPool";

/**
 * Orthogonal matching pursuit, exactly as scikit-learn's
 * `SparseCoder(dictionary=D, transform_algorithm='omp', transform_n_nonzero_coefs=m).transform(X)` computes it
 * (algorithms.md §A: sparse_encode → orthogonal_mp_gram → _gram_omp), as Batch-OMP (Rubinstein et al. 2008):
 *  - rows of D are the K atoms (not normalised: selection is by the raw correlation |dⱼᵀr|); G = D·Dᵀ is computed
 *    ONCE and shared by every signal; α⁰ = D·x for a chunk of signals is one GEMM;
 *  - per iteration: λ = argmax|α| (ties: the first position in sklearn's swapped order), Cholesky row update on
 *    G, γ = exact least squares on the active set (signed), α = α⁰ − G_{:,I}γ (never a residual in signal space);
 *  - sklearn's early stops: an atom chosen twice, α_λ² < eps, L_kk ≤ eps (eps of the precision); each returns fewer
 *    than m non-zeros and is counted (sklearn warns "Orthogonal matching pursuit ended prematurely").
 * Precision: "float64" (G and α in float64, eps 2⁻⁵²) or "float32" (G and α in float32 as sklearn on float32
 * input, eps 2⁻²³; the Cholesky factor and γ stay float64). Default: float64 when either input is float64.
 *
 * Memory bound: G = K²·b bytes (b = 4 or 8; K = 30,000: 3.6 GB float32, 7.2 GB float64) + D (K·d·b) + one chunk of
 * correlations (chunkRows·K·b, default ≤ 128 MB) + the encoder's working set ((m + 2)·K·b) + the codes
 * (N·m·(4 + b)). Time: one K²·d GEMM, one N·K·d GEMM, and ≈ K·m²/2 multiply-adds per signal (WebAssembly SIMD).
 */

export { OMP_EPS, OMP_STOPS, OmpEncoder, OmpGram, OmpPrecision, OmpStop } from "./ompEncoder";
import { OMP_STOPS, OmpGram, OmpPrecision, OmpStop } from "./ompEncoder";

/** A row-major matrix. */
export interface Matrix {
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
}

/** Signals read in chunks (e.g. directions computed on the fly): rows(start, count) → count×d. */
export interface SignalSource {
  N: number;
  d: number;
  rows(start: number, count: number): Float32Array | Float64Array;
}

/** An N×K sparse code matrix in CSR form (column indices sorted within each row, as scipy's canonical format). */
export interface SparseCodes {
  N: number;
  K: number;
  /** Requested non-zeros per row. */
  m: number;
  precision: OmpPrecision;
  indptr: Int32Array;
  indices: Int32Array;
  data: Float32Array | Float64Array;
  /** Signals whose pursuit stopped early (fewer than m non-zeros), by reason. */
  earlyStops: Record<Exclude<OmpStop, "complete">, number>;
  /** Why each row's pursuit ended: index into OMP_STOPS (0 = complete). */
  stops: Uint8Array;
  /** Seconds spent by this run (not by resumed chunks): the Gram matrix, the correlation GEMMs, the pursuits. */
  seconds?: { gram: number; correlations: number; pursuit: number };
}

function countStops(stops: Uint8Array): SparseCodes["earlyStops"] {
  const early = { "repeated-atom": 0, "small-correlation": 0, "dependent-atom": 0 };
  for (const s of stops) if (s > 0) early[OMP_STOPS[s] as keyof typeof early]++;
  return early;
}

const GRAM_BLOCK_BYTES = 128 << 20;

/**
 * G = D·Dᵀ (K×K) on onnxruntime, in shared memory. Symmetric, so each row block is multiplied only with the atoms
 * from its first row on (half the flops: the Gram is most of a short run's time) and mirrored into the lower
 * triangle; exactly symmetric, as numpy's D @ D.T (BLAS syrk) is for sklearn. No K×K temporary beyond G itself.
 */
export async function ompGram(
  dictionary: Matrix,
  precision: OmpPrecision,
  opts: { blockRows?: number } = {},
): Promise<OmpGram> {
  const { rows: K, cols: d } = dictionary;
  const b = precision === "float64" ? 8 : 4;
  if (K * K > 2 ** 32)
    throw new ClipNadError(`a Gram matrix of ${K} atoms (${K}² entries) is beyond what one array holds`);
  // shared memory: worker threads (src/analysis/ompPool.ts) read it without a copy
  const shared = new SharedArrayBuffer(K * K * b);
  const data = precision === "float64" ? new Float64Array(shared) : new Float32Array(shared);
  const gemm = await OrtGemm.create(precision);
  try {
    const D = precision === "float64" ? toF64(dictionary.data) : toF32(dictionary.data);
    const block = opts.blockRows ?? Math.max(1, Math.min(K, Math.floor(GRAM_BLOCK_BYTES / (K * b))));
    for (let r = 0; r < K; r += block) {
      const n = Math.min(block, K - r);
      const w = K - r; // atoms r … K−1
      const part = await gemm.run(D.subarray(r * d, (r + n) * d), n, D.subarray(r * d), w, d);
      for (let i = 0; i < n; i++) data.set(part.subarray(i * w, (i + 1) * w), (r + i) * K + r);
      mirrorBlock(data, K, r, n);
    }
  } finally {
    await gemm.release();
  }
  return { K, precision, data };
}

/** Lower triangle from the upper one for rows r … r+n−1: G[j][i] = G[i][j] for i in the block, j > i (tiled). */
function mirrorBlock(g: Float32Array | Float64Array, K: number, r: number, n: number): void {
  const T = 64;
  for (let j0 = r; j0 < K; j0 += T) {
    const j1 = Math.min(K, j0 + T);
    for (let i = r; i < r + n; i++) {
      const row = i * K;
      for (let j = Math.max(j0, i + 1); j < j1; j++) g[j * K + i] = g[row + j];
    }
  }
}

export interface OmpOptions {
  /** m: non-zero coefficients per signal (sklearn's transform_n_nonzero_coefs). */
  nonzero: number;
  /** Default: "float64" when the dictionary or the signals are float64, else "float32". */
  precision?: OmpPrecision;
  /** Signals per chunk (one correlation GEMM each; default: ≤ 128 MB of correlations, at most 2048). */
  chunkRows?: number;
  /**
   * A folder for chunk files and a progress record: a run that stops is resumed from its finished chunks (the
   * result is byte-identical). Removed after success unless `keepWork`.
   */
  workDir?: string;
  keepWork?: boolean;
  /** What the signals are, for the resume check of a streamed source (matrices are hashed). */
  identity?: string;
  /** Named in error messages. */
  files?: { dictionary?: string; signals?: string };
  /** The dictionary's Gram matrix, when already computed (ompGram of the same dictionary and precision). */
  gram?: OmpGram;
  /**
   * Worker threads for the pursuits (default 1: this thread). The Gram matrix is shared, not copied; each thread
   * adds its (m + 2)·K·b working set. The pursuit streams the active atoms' Gram rows (K·m²/2 floats per signal), so
   * it is bound by memory bandwidth: on this project's 2-vCPU machines 2 threads did not beat 1 (bench/omp).
   */
  threads?: number;
  onProgress?: (done: number, total: number) => void;
}

const WORK_FORMAT = "clip-nad-omp-work/1";
const WORK_RECORD = "omp.json";

function toF32(a: Float32Array | Float64Array): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

function toF64(a: Float32Array | Float64Array): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

/** First row of a rows×cols matrix holding a NaN or ±Inf, or −1. */
export function firstNonFiniteRow(data: ArrayLike<number>, cols: number): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return Math.floor(i / cols);
  return -1;
}

function isSource(x: Matrix | SignalSource): x is SignalSource {
  return typeof (x as SignalSource).rows === "function";
}

function hashArray(h: crypto.Hash, a: Float32Array | Float64Array): void {
  h.update(a instanceof Float64Array ? "f8" : "f4");
  h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** Validate the inputs as sklearn would refuse them, with the file named. */
export function checkOmpInputs(dictionary: Matrix, signalsD: number, m: number, files: OmpOptions["files"] = {}): void {
  const { rows: K, cols: d } = dictionary;
  if (!(K >= 1) || !(d >= 1) || dictionary.data.length !== K * d) {
    throw new ClipNadError(
      `the dictionary must be a non-empty atoms × dimensions matrix, got ${K}×${d} with ${dictionary.data.length} ` +
        `values`,
      { file: files.dictionary },
    );
  }
  if (!Number.isInteger(m) || m < 1)
    throw new ClipNadError(`the number of non-zero coefficients must be a positive integer, got ${m}`);
  if (m > K)
    throw new ClipNadError(`the dictionary has ${K} atoms, fewer than the ${m} non-zero coefficients asked for`, {
      file: files.dictionary,
    });
  if (signalsD !== d) {
    throw new ClipNadError(`signals have ${signalsD} dimensions but the dictionary's atoms have ${d}`, {
      file: files.signals ?? files.dictionary,
    });
  }
  const bad = firstNonFiniteRow(dictionary.data, d);
  if (bad >= 0)
    throw new ClipNadError(`atom (row) ${bad} holds a NaN or infinite value`, {
      file: files.dictionary,
      key: `row ${bad}`,
    });
}

/**
 * Sparse codes of every signal (rows of `signals`) over the dictionary's atoms (rows of `dictionary`): the N×K
 * matrix sklearn's SparseCoder(transform_algorithm='omp', transform_n_nonzero_coefs=m).transform returns, in CSR.
 * Signals go through in chunks; with `workDir` each finished chunk is kept on disk and a rerun resumes.
 */
export async function sparseEncode(
  dictionary: Matrix,
  signals: Matrix | SignalSource,
  opts: OmpOptions,
): Promise<SparseCodes> {
  const files = opts.files ?? {};
  const m = opts.nonzero;
  const { rows: K, cols: d } = dictionary;
  const source: SignalSource = isSource(signals)
    ? signals
    : {
        N: signals.rows,
        d: signals.cols,
        rows: (s, c) => signals.data.subarray(s * signals.cols, (s + c) * signals.cols),
      };
  if (!isSource(signals) && signals.data.length !== signals.rows * signals.cols) {
    throw new ClipNadError(
      `signals must be a signals × dimensions matrix, got ${signals.rows}×${signals.cols} with ` +
        `${signals.data.length} values`,
      { file: files.signals },
    );
  }
  checkOmpInputs(dictionary, source.d, m, files);
  if (!isSource(signals)) {
    const bad = firstNonFiniteRow(signals.data, signals.cols);
    if (bad >= 0)
      throw new ClipNadError(`signal (row) ${bad} holds a NaN or infinite value`, {
        file: files.signals,
        key: `row ${bad}`,
      });
  }
  const anyF64 =
    dictionary.data instanceof Float64Array || (!isSource(signals) && signals.data instanceof Float64Array);
  const precision: OmpPrecision = opts.precision ?? (anyF64 ? "float64" : "float32");
  const b = precision === "float64" ? 8 : 4;
  const N = source.N;
  const chunkRows = opts.chunkRows ?? Math.max(1, Math.min(2048, Math.floor(GRAM_BLOCK_BYTES / (K * b))));
  const chunks = Math.ceil(N / chunkRows);

  // Resume record: what was asked, so a folder of another run is never mixed in.
  let work: { dir: string; release: () => void } | undefined;
  const done = new Map<number, Chunk>();
  if (opts.workDir) {
    const h = crypto.createHash("sha256");
    hashArray(h, dictionary.data);
    h.update(`${K}x${d}`);
    if (isSource(signals)) h.update(`source:${opts.identity ?? ""}`);
    else hashArray(h, signals.data);
    const key = { format: WORK_FORMAT, input: h.digest("hex"), N, K, d, m, precision, chunkRows };
    ensureDir(opts.workDir);
    work = { dir: opts.workDir, release: lockFolder(opts.workDir, "omp") };
    const record = path.join(opts.workDir, WORK_RECORD);
    if (fs.existsSync(record)) {
      const prev = readJson<typeof key>(record);
      const same = (Object.keys(key) as (keyof typeof key)[]).every((k) => prev[k] === key[k]);
      if (!same) {
        work.release();
        throw new ClipNadError(
          "this work folder holds another OMP run (other inputs or settings); remove it or choose another",
          { file: opts.workDir },
        );
      }
      for (let c = 0; c < chunks; c++) {
        const got = readChunk(opts.workDir, c, Math.min(chunkRows, N - c * chunkRows), m, precision);
        if (got) done.set(c, got);
      }
    } else {
      writeJsonAtomic(record, key);
    }
  }

  try {
    const nActive = new Int32Array(N);
    const stops = new Uint8Array(N);
    const order = new Int32Array(N * m);
    const coefs = precision === "float64" ? new Float64Array(N * m) : new Float32Array(N * m);
    let finished = 0;
    const seconds = { gram: 0, correlations: 0, pursuit: 0 };
    const clock = () => Number(process.hrtime.bigint()) / 1e9;
    for (const [c, got] of done) {
      const start = c * chunkRows;
      nActive.set(got.n, start);
      stops.set(got.stop, start);
      order.set(got.idx, start * m);
      coefs.set(got.coef, start * m);
      finished += got.n.length;
    }
    opts.onProgress?.(finished, N);
    if (done.size < chunks) {
      if (opts.gram && (opts.gram.K !== K || opts.gram.precision !== precision)) {
        throw new ClipNadError(
          `the Gram matrix given is ${opts.gram.K}×${opts.gram.K} ${opts.gram.precision}, the dictionary needs ` +
            `${K}×${K} ${precision}`,
        );
      }
      let t = clock();
      const gram = opts.gram ?? (await ompGram(dictionary, precision));
      seconds.gram = clock() - t;
      const threads = opts.threads ?? 1;
      const encoder: ChunkEncoder =
        threads > 1 && gram.data.buffer instanceof SharedArrayBuffer
          ? new PooledChunkEncoder(gram, m, threads, chunkRows)
          : new LocalChunkEncoder(gram, m);
      const gemm = await OrtGemm.create(precision);
      const D = precision === "float64" ? toF64(dictionary.data) : toF32(dictionary.data);
      try {
        for (let c = 0; c < chunks; c++) {
          if (done.has(c)) continue;
          const start = c * chunkRows;
          const B = Math.min(chunkRows, N - start);
          const X = source.rows(start, B);
          if (X.length !== B * d)
            throw new ClipNadError(
              `signal rows ${start}..${start + B - 1}: expected ${B * d} values, got ${X.length}`,
              { file: files.signals },
            );
          const bad = firstNonFiniteRow(X, d);
          if (bad >= 0)
            throw new ClipNadError(`signal (row) ${start + bad} holds a NaN or infinite value`, {
              file: files.signals,
              key: `row ${start + bad}`,
            });
          t = clock();
          const XY = await gemm.run(X, B, D, K, d); // B×K: α⁰ of each signal
          seconds.correlations += clock() - t;
          t = clock();
          let inChunk = 0;
          const res = await encoder.encode(XY, B, (k) => {
            inChunk += k;
            if (inChunk < B) opts.onProgress?.(finished + inChunk, N); // the chunk's end is reported once it is saved
          });
          nActive.set(res.n, start);
          stops.set(res.stops, start);
          order.set(res.atoms, start * m);
          coefs.set(res.coefs, start * m);
          seconds.pursuit += clock() - t;
          if (work) {
            writeChunk(
              work.dir,
              c,
              nActive.subarray(start, start + B),
              stops.subarray(start, start + B),
              order.subarray(start * m, (start + B) * m),
              coefs.subarray(start * m, (start + B) * m),
              m,
            );
          }
          finished += B;
          opts.onProgress?.(finished, N);
        }
      } finally {
        await gemm.release();
        await encoder.close();
      }
    }
    const codes = { ...toCSR(N, K, m, precision, nActive, order, coefs, stops), seconds };
    if (work && !opts.keepWork) fs.rmSync(work.dir, { recursive: true, force: true });
    return codes;
  } finally {
    work?.release();
  }
}

function chunkFiles(dir: string, c: number): { idx: string; coef: string } {
  const stem = path.join(dir, `chunk-${String(c).padStart(6, "0")}`);
  return { idx: `${stem}-atoms.npy`, coef: `${stem}-coefs.npy` };
}

interface Chunk {
  n: Int32Array;
  stop: Uint8Array;
  idx: Int32Array;
  coef: Float32Array | Float64Array;
}

/**
 * Chunk c as two .npy files: coefficients (B×m) first, then [n, stop reason, atoms…] per signal (B×(m+2), int32);
 * the second one's presence marks the chunk done.
 */
function writeChunk(
  dir: string,
  c: number,
  n: Int32Array,
  stop: Uint8Array,
  order: Int32Array,
  coefs: Float32Array | Float64Array,
  m: number,
): void {
  const B = n.length;
  const f = chunkFiles(dir, c);
  writeNpy(f.coef, coefs.slice(), [B, m]);
  const rows = new Int32Array(B * (m + 2));
  for (let i = 0; i < B; i++) {
    rows[i * (m + 2)] = n[i];
    rows[i * (m + 2) + 1] = stop[i];
    rows.set(order.subarray(i * m, (i + 1) * m), i * (m + 2) + 2);
  }
  writeNpy(f.idx, rows, [B, m + 2]);
}

/** A finished chunk, or null when it is missing or not of this run's shape (then it is recomputed). */
function readChunk(dir: string, c: number, B: number, m: number, precision: OmpPrecision): Chunk | null {
  const f = chunkFiles(dir, c);
  if (!fs.existsSync(f.idx) || !fs.existsSync(f.coef)) return null;
  const a = readNpy(f.idx);
  const k = readNpy(f.coef);
  if (!(a.data instanceof Int32Array) || a.shape[0] !== B || a.shape[1] !== m + 2) return null;
  const coefType = precision === "float64" ? Float64Array : Float32Array;
  if (k.shape[0] !== B || k.shape[1] !== m || !(k.data instanceof coefType)) return null;
  const n = new Int32Array(B);
  const stop = new Uint8Array(B);
  const idx = new Int32Array(B * m);
  for (let i = 0; i < B; i++) {
    n[i] = a.data[i * (m + 2)];
    stop[i] = a.data[i * (m + 2) + 1];
    idx.set(a.data.subarray(i * (m + 2) + 2, (i + 1) * (m + 2)), i * m);
  }
  return { n, stop, idx, coef: k.data as Float32Array | Float64Array };
}

function toCSR(
  N: number,
  K: number,
  m: number,
  precision: OmpPrecision,
  nActive: Int32Array,
  order: Int32Array,
  coefs: Float32Array | Float64Array,
  stops: Uint8Array,
): SparseCodes {
  const indptr = new Int32Array(N + 1);
  for (let r = 0; r < N; r++) indptr[r + 1] = indptr[r] + nActive[r];
  const nnz = indptr[N];
  const indices = new Int32Array(nnz);
  const data = precision === "float64" ? new Float64Array(nnz) : new Float32Array(nnz);
  const perm: number[] = [];
  for (let r = 0; r < N; r++) {
    const n = nActive[r];
    perm.length = 0;
    for (let j = 0; j < n; j++) perm.push(j);
    perm.sort((a, b) => order[r * m + a] - order[r * m + b]);
    for (let j = 0; j < n; j++) {
      indices[indptr[r] + j] = order[r * m + perm[j]];
      data[indptr[r] + j] = coefs[r * m + perm[j]];
    }
  }
  return { N, K, m, precision, indptr, indices, data, earlyStops: countStops(stops), stops };
}

/** Row r of a code matrix: atoms (ascending) and coefficients. */
export function codeRow(codes: SparseCodes, r: number): { atoms: Int32Array; values: Float32Array | Float64Array } {
  const a = codes.indptr[r],
    b = codes.indptr[r + 1];
  return { atoms: codes.indices.subarray(a, b), values: codes.data.subarray(a, b) };
}

/** The k atoms of row r with the largest |coefficient| (ties: lower atom first), with their signed coefficients. */
/** Codes as scipy's CSR .npz (scipy.sparse.load_npz reads it). */
export function writeCodesNpz(file: string, codes: SparseCodes): void {
  writeCsrNpz(file, { shape: [codes.N, codes.K], indptr: codes.indptr, indices: codes.indices, data: codes.data });
}

export function topAtoms(codes: SparseCodes, r: number, k: number): { atom: number; coefficient: number }[] {
  const { atoms, values } = codeRow(codes, r);
  // atoms ascend within a row, so topIndices' tie rule (lower index first) is "lower atom first"
  return topIndices(Array.from(values, Math.abs), k).map((j) => ({ atom: atoms[j], coefficient: values[j] }));
}

/** Rows [start, start + count) of a code matrix as codes of their own. */
export function codeRows(codes: SparseCodes, start: number, count: number): SparseCodes {
  const a = codes.indptr[start],
    b = codes.indptr[start + count];
  const indptr = new Int32Array(count + 1);
  for (let r = 0; r <= count; r++) indptr[r] = codes.indptr[start + r] - a;
  const stops = codes.stops.slice(start, start + count);
  return {
    ...codes,
    N: count,
    indptr,
    indices: codes.indices.slice(a, b),
    data: codes.data.slice(a, b),
    stops,
    earlyStops: countStops(stops),
  };
}

/** The dense reconstruction γ·D of row r (d values, float64). */
export function reconstructRow(codes: SparseCodes, r: number, dictionary: Matrix): Float64Array {
  const { atoms, values } = codeRow(codes, r);
  const d = dictionary.cols;
  const out = new Float64Array(d);
  for (let j = 0; j < atoms.length; j++) {
    const o = atoms[j] * d;
    for (let c = 0; c < d; c++) out[c] += values[j] * dictionary.data[o + c];
  }
  return out;
}
