import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { readJson, writeJsonAtomic, ensureDir } from "../io/atomic";
import { lockFolder } from "../io/lock";
import { readNpy, writeNpy } from "../io/npy";
import { OrtGemm } from "../onnx/gemm";
import { ResidualKernel } from "./ompKernel";

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

export type OmpPrecision = "float32" | "float64";

/** np.finfo(dtype).eps — sklearn's `min_float`. */
export const OMP_EPS: Record<OmpPrecision, number> = { float32: 2 ** -23, float64: 2 ** -52 };

/** Why one signal's pursuit ended. */
export type OmpStop = "complete" | "repeated-atom" | "small-correlation" | "dependent-atom";

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
}

/** The stop reasons in the order of SparseCodes.stops codes. */
export const OMP_STOPS: readonly OmpStop[] = ["complete", "repeated-atom", "small-correlation", "dependent-atom"];

function countStops(stops: Uint8Array): SparseCodes["earlyStops"] {
  const early = { "repeated-atom": 0, "small-correlation": 0, "dependent-atom": 0 };
  for (const s of stops) if (s > 0) early[OMP_STOPS[s] as keyof typeof early]++;
  return early;
}

/** The Gram matrix of a dictionary, K×K row-major, in the precision the pursuit runs in. */
export interface OmpGram {
  K: number;
  precision: OmpPrecision;
  data: Float32Array | Float64Array;
}

const GRAM_BLOCK_BYTES = 128 << 20;

/** G = D·Dᵀ (K×K) on onnxruntime, computed in row blocks (no K×K temporary beyond G itself). */
export async function ompGram(dictionary: Matrix, precision: OmpPrecision): Promise<OmpGram> {
  const { rows: K, cols: d } = dictionary;
  const b = precision === "float64" ? 8 : 4;
  if (K * K > 2 ** 32) throw new ClipNadError(`a Gram matrix of ${K} atoms (${K}² entries) is beyond what one array holds`);
  const data = precision === "float64" ? new Float64Array(K * K) : new Float32Array(K * K);
  const gemm = await OrtGemm.create(precision);
  try {
    const D = precision === "float64" ? toF64(dictionary.data) : toF32(dictionary.data);
    const block = Math.max(1, Math.min(K, Math.floor(GRAM_BLOCK_BYTES / (K * b))));
    for (let r = 0; r < K; r += block) {
      const n = Math.min(block, K - r);
      data.set(await gemm.run(D.subarray(r * d, (r + n) * d), n, D, K, d), r * K);
    }
  } finally {
    await gemm.release();
  }
  return { K, precision, data };
}

/**
 * One signal's pursuit on a shared Gram matrix (sklearn `_gram_omp` with n_nonzero_coefs = m, tol = None).
 * Reusable across signals; holds O(m·K) working memory (WebAssembly).
 */
export class OmpEncoder {
  readonly K: number;
  private readonly kernel: ResidualKernel;
  private readonly eps: number;
  private readonly L: Float64Array;
  private readonly w: Float64Array;
  private readonly xyActive: Float64Array;
  private readonly y: Float64Array;
  private readonly gamma: Float64Array;

  constructor(readonly gram: OmpGram, readonly m: number) {
    this.K = gram.K;
    if (!Number.isInteger(m) || m < 1) throw new ClipNadError(`the number of non-zero coefficients must be a positive integer, got ${m}`);
    if (m > this.K) throw new ClipNadError(`cannot select ${m} atoms from a dictionary of ${this.K}`);
    this.kernel = new ResidualKernel(this.K, m, gram.precision);
    this.eps = OMP_EPS[gram.precision];
    this.L = new Float64Array(m * m);
    this.w = new Float64Array(m);
    this.xyActive = new Float64Array(m);
    this.y = new Float64Array(m);
    this.gamma = new Float64Array(m);
  }

  /**
   * Encode one signal from its correlations with the atoms, xy = D·x (K values). Writes the chosen atoms (in
   * selection order) and their least-squares coefficients to `indices`/`coefs`; returns how many and why it ended.
   */
  encode(xy: ArrayLike<number>, indices: Int32Array, coefs: Float64Array): { n: number; stop: OmpStop } {
    const { K, m, L, w, xyActive, y, gamma, eps } = this;
    const G = this.gram.data;
    const f32 = this.gram.precision === "float32";
    const kern = this.kernel;
    const alpha = kern.alpha;
    const stride = kern.stride;
    kern.xy.set(xy as ArrayLike<number>);
    kern.residual(0); // α = xy
    // sklearn swaps Gram rows/columns in place, so ties go to the first index in the swapped order; the swaps only
    // touch positions < n and the positions the chosen atoms came from, so keep those as maps.
    const positionOf = new Map<number, number>();
    const atomAt = new Map<number, number>();
    let n = 0;
    for (;;) {
      let lam = 0;
      let best = -1;
      let tied = false;
      for (let k = 0; k < K; k++) {
        const a = Math.abs(alpha[k]);
        if (a > best) {
          best = a;
          lam = k;
          tied = false;
        } else if (a === best) tied = true;
      }
      if (tied) {
        let bestPos = positionOf.get(lam) ?? lam;
        for (let k = 0; k < K; k++) {
          if (Math.abs(alpha[k]) !== best) continue;
          const p = positionOf.get(k) ?? k;
          if (p < bestPos) {
            bestPos = p;
            lam = k;
          }
        }
      }
      const lamPos = positionOf.get(lam) ?? lam;
      if (lamPos < n) return this.finish(n, indices, coefs, "repeated-atom");
      const a2 = alpha[lam] * alpha[lam];
      if ((f32 ? Math.fround(a2) : a2) < eps) return this.finish(n, indices, coefs, "small-correlation");
      const row = lam * K;
      if (n > 0) {
        for (let j = 0; j < n; j++) w[j] = G[row + indices[j]];
        for (let j = 0; j < n; j++) {
          let s = w[j];
          for (let q = 0; q < j; q++) s -= L[j * m + q] * w[q];
          w[j] = s / L[j * m + j];
        }
        let v = 0;
        for (let j = 0; j < n; j++) v += w[j] * w[j];
        const Lkk = G[row + lam] - v;
        if (Lkk <= eps) return this.finish(n, indices, coefs, "dependent-atom");
        for (let j = 0; j < n; j++) L[n * m + j] = w[j];
        L[n * m + n] = Math.sqrt(Lkk);
      } else {
        L[0] = Math.sqrt(G[row + lam]);
      }
      const displaced = atomAt.get(n) ?? n;
      atomAt.set(n, lam);
      atomAt.set(lamPos, displaced);
      positionOf.set(lam, n);
      positionOf.set(displaced, lamPos);
      indices[n] = lam;
      xyActive[n] = kern.xy[lam];
      n++;
      // γ: L·Lᵀ γ = xy_I (forward, then backward substitution)
      for (let j = 0; j < n; j++) {
        let s = xyActive[j];
        for (let q = 0; q < j; q++) s -= L[j * m + q] * y[q];
        y[j] = s / L[j * m + j];
      }
      for (let j = n - 1; j >= 0; j--) {
        let s = y[j];
        for (let q = j + 1; q < n; q++) s -= L[q * m + j] * gamma[q];
        gamma[j] = s / L[j * m + j];
      }
      kern.rows.set(G.subarray(row, row + K), (n - 1) * stride);
      for (let j = 0; j < n; j++) kern.coef[j] = gamma[j];
      if (n === m) return this.finish(n, indices, coefs, "complete");
      kern.residual(n); // α = xy − G_{:,I} γ
    }
  }

  private finish(n: number, indices: Int32Array, coefs: Float64Array, stop: OmpStop): { n: number; stop: OmpStop } {
    for (let j = 0; j < n; j++) coefs[j] = this.gram.precision === "float32" ? Math.fround(this.gamma[j]) : this.gamma[j];
    return { n, stop };
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
    throw new ClipNadError(`the dictionary must be a non-empty atoms × dimensions matrix, got ${K}×${d} with ${dictionary.data.length} values`, { file: files.dictionary });
  }
  if (!Number.isInteger(m) || m < 1) throw new ClipNadError(`the number of non-zero coefficients must be a positive integer, got ${m}`);
  if (m > K) throw new ClipNadError(`the dictionary has ${K} atoms, fewer than the ${m} non-zero coefficients asked for`, { file: files.dictionary });
  if (signalsD !== d) {
    throw new ClipNadError(`signals have ${signalsD} dimensions but the dictionary's atoms have ${d}`, { file: files.signals ?? files.dictionary });
  }
  const bad = firstNonFiniteRow(dictionary.data, d);
  if (bad >= 0) throw new ClipNadError(`atom (row) ${bad} holds a NaN or infinite value`, { file: files.dictionary, key: `row ${bad}` });
}

/**
 * Sparse codes of every signal (rows of `signals`) over the dictionary's atoms (rows of `dictionary`): the N×K
 * matrix sklearn's SparseCoder(transform_algorithm='omp', transform_n_nonzero_coefs=m).transform returns, in CSR.
 * Signals go through in chunks; with `workDir` each finished chunk is kept on disk and a rerun resumes.
 */
export async function sparseEncode(dictionary: Matrix, signals: Matrix | SignalSource, opts: OmpOptions): Promise<SparseCodes> {
  const files = opts.files ?? {};
  const m = opts.nonzero;
  const { rows: K, cols: d } = dictionary;
  const source: SignalSource = isSource(signals)
    ? signals
    : { N: signals.rows, d: signals.cols, rows: (s, c) => signals.data.subarray(s * signals.cols, (s + c) * signals.cols) };
  if (!isSource(signals) && signals.data.length !== signals.rows * signals.cols) {
    throw new ClipNadError(`signals must be a signals × dimensions matrix, got ${signals.rows}×${signals.cols} with ${signals.data.length} values`, { file: files.signals });
  }
  checkOmpInputs(dictionary, source.d, m, files);
  if (!isSource(signals)) {
    const bad = firstNonFiniteRow(signals.data, signals.cols);
    if (bad >= 0) throw new ClipNadError(`signal (row) ${bad} holds a NaN or infinite value`, { file: files.signals, key: `row ${bad}` });
  }
  const anyF64 = dictionary.data instanceof Float64Array || (!isSource(signals) && signals.data instanceof Float64Array);
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
        throw new ClipNadError("this work folder holds another OMP run (other inputs or settings); remove it or choose another", { file: opts.workDir });
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
        throw new ClipNadError(`the Gram matrix given is ${opts.gram.K}×${opts.gram.K} ${opts.gram.precision}, the dictionary needs ${K}×${K} ${precision}`);
      }
      const gram = opts.gram ?? (await ompGram(dictionary, precision));
      const encoder = new OmpEncoder(gram, m);
      const gemm = await OrtGemm.create(precision);
      const D = precision === "float64" ? toF64(dictionary.data) : toF32(dictionary.data);
      try {
        const idx = new Int32Array(m);
        const cf = new Float64Array(m);
        for (let c = 0; c < chunks; c++) {
          if (done.has(c)) continue;
          const start = c * chunkRows;
          const B = Math.min(chunkRows, N - start);
          const X = source.rows(start, B);
          if (X.length !== B * d) throw new ClipNadError(`signal rows ${start}..${start + B - 1}: expected ${B * d} values, got ${X.length}`, { file: files.signals });
          const bad = firstNonFiniteRow(X, d);
          if (bad >= 0) throw new ClipNadError(`signal (row) ${start + bad} holds a NaN or infinite value`, { file: files.signals, key: `row ${start + bad}` });
          const XY = await gemm.run(X, B, D, K, d); // B×K: α⁰ of each signal
          for (let i = 0; i < B; i++) {
            const r = start + i;
            const res = encoder.encode(XY.subarray(i * K, (i + 1) * K), idx, cf);
            nActive[r] = res.n;
            stops[r] = OMP_STOPS.indexOf(res.stop);
            order.set(idx.subarray(0, res.n), r * m);
            for (let j = 0; j < res.n; j++) coefs[r * m + j] = cf[j];
            if ((i & 31) === 31) opts.onProgress?.(finished + i + 1, N);
          }
          if (work) {
            writeChunk(work.dir, c, nActive.subarray(start, start + B), stops.subarray(start, start + B), order.subarray(start * m, (start + B) * m), coefs.subarray(start * m, (start + B) * m), m);
          }
          finished += B;
          opts.onProgress?.(finished, N);
        }
      } finally {
        await gemm.release();
      }
    }
    const codes = toCSR(N, K, m, precision, nActive, order, coefs, stops);
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

interface Chunk { n: Int32Array; stop: Uint8Array; idx: Int32Array; coef: Float32Array | Float64Array }

/**
 * Chunk c as two .npy files: coefficients (B×m) first, then [n, stop reason, atoms…] per signal (B×(m+2), int32);
 * the second one's presence marks the chunk done.
 */
function writeChunk(dir: string, c: number, n: Int32Array, stop: Uint8Array, order: Int32Array, coefs: Float32Array | Float64Array, m: number): void {
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
  N: number, K: number, m: number, precision: OmpPrecision,
  nActive: Int32Array, order: Int32Array, coefs: Float32Array | Float64Array, stops: Uint8Array,
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
  const a = codes.indptr[r], b = codes.indptr[r + 1];
  return { atoms: codes.indices.subarray(a, b), values: codes.data.subarray(a, b) };
}

/** The k atoms of row r with the largest |coefficient| (ties: lower atom first), with their signed coefficients. */
export function topAtoms(codes: SparseCodes, r: number, k: number): { atom: number; coefficient: number }[] {
  const { atoms, values } = codeRow(codes, r);
  const order = Array.from(atoms.keys()).sort((x, y) => Math.abs(values[y]) - Math.abs(values[x]) || atoms[x] - atoms[y]);
  return order.slice(0, k).map((j) => ({ atom: atoms[j], coefficient: values[j] }));
}

/** Rows [start, start + count) of a code matrix as codes of their own. */
export function codeRows(codes: SparseCodes, start: number, count: number): SparseCodes {
  const a = codes.indptr[start], b = codes.indptr[start + count];
  const indptr = new Int32Array(count + 1);
  for (let r = 0; r <= count; r++) indptr[r] = codes.indptr[start + r] - a;
  const stops = codes.stops.slice(start, start + count);
  return { ...codes, N: count, indptr, indices: codes.indices.slice(a, b), data: codes.data.slice(a, b), stops, earlyStops: countStops(stops) };
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
