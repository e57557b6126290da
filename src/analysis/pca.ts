import { ClipNadError } from "../errors";
import { NeuronGram, centredNeuronNorms } from "../decompose";
import { canonicalSign, firstRightSingular } from "./linalg";
import { neuronSVD } from "./neuronSvd";
import { TopK } from "../util/topk";
import { CoefficientRows, meanCoefficients } from "./rows";

/**
 * The paper's PCA procedure (paper.md §A.4): mean-centre over images, keep the top-k (50) images by centred
 * norm, SVD of that k×d matrix without re-centring, sign by majority (> k/2 positive projections).
 * Pairs: Δ^{n,h}(I) = (s − s̄) w^{n,h} is rank-1, so PC1 = ±w/|w| (pairPCA, O(N·H·C·log k)); the empirical
 * SVD on the materialised k×d matrices (empiricalPairPCs) checks that on data.
 * Neurons: Δ^n = Σ_h δ^{n,h} w^{n,h}; PCs 1..m by an exact SVD that never forms the k×d matrix (neuronSvd.ts).
 * Before the majority rule, SVD vectors are put in a canonical sign (largest component positive) so the
 * empirical and analytic routes agree even on 25/25 ties.
 */

export interface PairPCA {
  H: number;
  C: number;
  /** Images kept per pair (min(topK, N)). */
  k: number;
  /** s̄ (H×C). */
  sBar: Float32Array;
  /** PC1 of pair (h,n) is sign[h·C+n] · w^{n,h}/|w^{n,h}|; 0 where the pair never varies. */
  sign: Int8Array;
  /** Top-k centred norms |s−s̄|·|w|, descending (H×C×k). */
  topNorms: Float32Array;
  /** Image index of each top norm (H×C×k). */
  topImages: Int32Array;
}

export interface PCAOptions {
  /** Images kept per unit (paper: 50). */
  topK?: number;
  /** Mean coefficients to centre with (default: the mean over `rows`). */
  sBar?: Float32Array;
}

/** Pair PCA from s and |w| (analytic direction, empirical sign). Streams over images twice. */
export function pairPCA(rows: CoefficientRows, w: Float32Array, wNorms: Float32Array, opts: PCAOptions = {}): PairPCA {
  const { N, H, C } = rows;
  const U = H * C;
  if (wNorms.length !== U) throw new ClipNadError(`pairPCA: |w| has ${wNorms.length} values, expected H×C = ${U}`);
  const d = w.length / U;
  const k = Math.min(opts.topK ?? 50, N);
  if (k < 1) throw new ClipNadError("pairPCA: no images");
  const sBar = opts.sBar ?? meanCoefficients(rows);
  const top = new TopK(U, k);
  for (let i = 0; i < N; i++) {
    const s = rows.row(i);
    for (let u = 0; u < U; u++) top.offer(u, Math.abs(s[u] - sBar[u]), i);
  }
  const { scores: values, rows: images } = top.result();
  const topNorms = new Float32Array(U * k);
  for (let u = 0; u < U; u++) for (let j = 0; j < k; j++) topNorms[u * k + j] = values[u * k + j] * wNorms[u];
  // Majority sign needs the signed δ of each top image: gather them in one more pass.
  const deltas = gatherTopDeltas(rows, images, k, sBar);
  const sign = new Int8Array(U);
  for (let u = 0; u < U; u++) {
    if (!(values[u * k] > 0) || !(wNorms[u] > 0)) continue;
    const canon = canonicalSign(w, u * d, d); // SVD's canonical v = canon·ŵ
    let positives = 0;
    for (let j = 0; j < k; j++) if (deltas[u * k + j] * canon > 0) positives++;
    sign[u] = positives > k / 2 ? canon : -canon;
  }
  return { H, C, k, sBar, sign, topNorms, topImages: images };
}

/** δ = s − s̄ of each unit's top images, U×k (U = H×C), gathered in one pass over images. */
function gatherTopDeltas(rows: CoefficientRows, images: Int32Array, k: number, sBar: Float32Array): Float64Array {
  const U = rows.H * rows.C;
  const out = new Float64Array(U * k);
  const byImage = invertTopLists(images, rows.N);
  for (let i = 0; i < rows.N; i++) {
    const slots = byImage[i];
    if (!slots) continue;
    const s = rows.row(i);
    for (const slot of slots) {
      const u = Math.floor(slot / k);
      out[slot] = s[u] - sBar[u];
    }
  }
  return out;
}

/** For each image, the flat slots (unit·k + j) whose top list holds it. */
function invertTopLists(images: Int32Array, N: number): number[][] {
  const byImage: number[][] = new Array(N);
  for (let slot = 0; slot < images.length; slot++) {
    const i = images[slot];
    if (i < 0) continue;
    (byImage[i] ??= []).push(slot);
  }
  return byImage;
}

/** Materialise the pairs' first PCs sign·w/|w| (H×C×d). */
export function pairPCDirections(pca: PairPCA, w: Float32Array, wNorms: Float32Array): Float32Array {
  const U = pca.H * pca.C;
  const d = w.length / U;
  const out = new Float32Array(U * d);
  for (let u = 0; u < U; u++) {
    if (pca.sign[u] === 0) continue;
    const f = pca.sign[u] / wNorms[u];
    for (let j = 0; j < d; j++) out[u * d + j] = w[u * d + j] * f;
  }
  return out;
}

/**
 * The empirical route, as the paper computes it, for selected pairs (default all): build each pair's k×d matrix of
 * centred contributions δ_j w from its top-k images, take its first right singular vector by power iteration,
 * canonical sign, then majority sign (> k/2 positive projections). Returns P×d unit PCs (zeros for pairs that
 * never vary).
 */
export function empiricalPairPCs(
  rows: CoefficientRows,
  w: Float32Array,
  pca: PairPCA,
  pairs?: ArrayLike<number>,
): { pairs: Int32Array; pcs: Float32Array } {
  return pairPCsFromTopDeltas(w, gatherTopDeltas(rows, pca.topImages, pca.k, pca.sBar), pca.k, pairs);
}

/** The same from stored signed top-k deltas (U×k, e.g. a collection's pair_topk_delta.npy). */
export function pairPCsFromTopDeltas(w: Float32Array, deltas: ArrayLike<number>, k: number, pairs?: ArrayLike<number>): { pairs: Int32Array; pcs: Float32Array } {
  const U = deltas.length / k;
  const d = w.length / U;
  if (!Number.isInteger(U) || !Number.isInteger(d)) throw new ClipNadError(`top deltas (${deltas.length}) and w (${w.length}) do not match k = ${k}`);
  const sel = Int32Array.from(pairs ?? Array.from({ length: U }, (_, u) => u));
  const pcs = new Float32Array(sel.length * d);
  const X = new Float64Array(k * d);
  for (let q = 0; q < sel.length; q++) {
    const u = sel[q];
    let any = false;
    for (let j = 0; j < k; j++) {
      const dl = deltas[u * k + j];
      if (dl !== 0 && dl === dl) any = true;
      for (let c = 0; c < d; c++) X[j * d + c] = (dl === dl ? dl : 0) * w[u * d + c];
    }
    if (!any) continue;
    const v = firstRightSingular(X, k, d);
    const canon = canonicalSign(v);
    let positives = 0;
    for (let j = 0; j < k; j++) {
      let proj = 0;
      for (let c = 0; c < d; c++) proj += X[j * d + c] * v[c] * canon;
      if (proj > 0) positives++;
    }
    const sg = positives > k / 2 ? canon : -canon;
    for (let c = 0; c < d; c++) pcs[q * d + c] = v[c] * sg;
  }
  return { pairs: sel, pcs };
}

export interface NeuronPCA {
  C: number;
  /** PCs per neuron. */
  m: number;
  k: number;
  /** PCs (C×m×d), unit norm, majority-signed; zeros beyond a neuron's rank. */
  pcs: Float32Array;
  /** Singular values of each neuron's k×d matrix (C×m). */
  singular: Float32Array;
  topNorms: Float32Array;
  topImages: Int32Array;
  sBar: Float32Array;
}

/** Neuron PCA (PCs 1..m, paper uses m = 4) from s, w and the per-neuron Gram matrices. */
export function neuronPCA(
  rows: CoefficientRows,
  w: Float32Array,
  gram: NeuronGram,
  opts: PCAOptions & { pcs?: number } = {},
): NeuronPCA {
  const { N, H, C } = rows;
  const d = w.length / (H * C);
  const m = opts.pcs ?? 4;
  const k = Math.min(opts.topK ?? 50, N);
  if (k < 1) throw new ClipNadError("neuronPCA: no images");
  const sBar = opts.sBar ?? meanCoefficients(rows);
  const delta = new Float32Array(H * C);
  const top = new TopK(C, k);
  for (let i = 0; i < N; i++) {
    const s = rows.row(i);
    for (let u = 0; u < H * C; u++) delta[u] = s[u] - sBar[u];
    const norms = centredNeuronNorms(delta, gram);
    for (let n = 0; n < C; n++) top.offer(n, norms[n], i);
  }
  const { scores: topNorms, rows: topImages } = top.result();
  // D[n][j][h] = δ^{n,h} of neuron n's j-th top image.
  const D = new Float64Array(C * k * H);
  const byImage = invertTopLists(topImages, N);
  for (let i = 0; i < N; i++) {
    const slots = byImage[i];
    if (!slots) continue;
    const s = rows.row(i);
    for (const slot of slots) {
      const n = Math.floor(slot / k);
      for (let h = 0; h < H; h++) D[slot * H + h] = s[h * C + n] - sBar[h * C + n];
    }
  }
  const pcs = new Float32Array(C * m * d);
  const singular = new Float32Array(C * m);
  for (let n = 0; n < C; n++) {
    const svd = neuronSVD(D, n * k * H, k, H, gram.data, n * H * H, w, C, n, d, m);
    for (let p = 0; p < m; p++) {
      const sig = svd.singular[p];
      singular[n * m + p] = sig;
      if (!(sig > 0)) continue;
      const canon = canonicalSign(svd.right, p * d, d);
      // projections of the k rows on v are σ·u_j
      let positives = 0;
      for (let j = 0; j < k; j++) if (svd.left[p * k + j] * canon > 0) positives++;
      const sg = positives > k / 2 ? canon : -canon;
      for (let c = 0; c < d; c++) pcs[(n * m + p) * d + c] = svd.right[p * d + c] * sg;
    }
  }
  return { C, m, k, pcs, singular, topNorms, topImages, sBar };
}
