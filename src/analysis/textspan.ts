import { ClipNadError } from "../errors";
import { symmetricEigen, topSingular } from "./linalg";
import { Matrix, firstNonFiniteRow } from "./omp";

/**
 * TextSpan (Gandelsman et al.; clip_text_span `replace_with_iterative_removal`, algorithms.md §B) on one unit's
 * outputs R (N×d, e.g. an attention-pool head's r^h over a collection's images) and texts T (M×d):
 *  1. the top-`rank` right singular vectors V of R (not centred) span the texts' playground: T ← T·VᵀV;
 *  2. C = R − mean; repeat `iterations` times: pick the text whose projection C·t varies most over the images
 *     (ties: the first), remove its direction from C and from EVERY text (t ← t − (t·t* / |t*|²) t*);
 *     texts are never re-normalised, so a text's remaining norm counts towards its spread.
 * Every step is done exactly in the rank-dimensional coordinates of V (texts and C·Vᵀ live there), so the cost per
 * iteration is M·rank² instead of N·M·d. The chosen texts are mutually orthogonal: the reconstruction of any
 * output r is mean + P(r − mean) with P the projector on them (`textSpanReconstruct`), for the fitted images (as
 * the reference returns) and for new ones alike. Float64 throughout.
 * Memory: N·d + M·rank + d² floats.
 */
export interface TextSpanResult {
  /** Chosen text indices, in order. */
  chosen: number[];
  /** Variance each chosen text removes: mean over images of |c·t*|² (same units as totalVariance). */
  variance: number[];
  /** Mean over images of |r − mean|²: the variance there is to explain. */
  totalVariance: number;
  /** Mean output over the images (d). */
  mean: Float64Array;
  /** The chosen texts as they were when chosen (projected, orthogonalised), iterations×d: the reconstruction basis. */
  basis: Float64Array;
  d: number;
}

export interface TextSpanOptions {
  iterations: number;
  rank: number;
  files?: { outputs?: string; texts?: string };
}

export function textSpan(outputs: Matrix, texts: Matrix, opts: TextSpanOptions): TextSpanResult {
  const { rows: N, cols: d } = outputs;
  const M = texts.rows;
  const files = opts.files ?? {};
  const { iterations, rank } = opts;
  if (outputs.data.length !== N * d || N < 2)
    throw new ClipNadError(`outputs must be an N×d matrix with N ≥ 2, got ${N}×${d}`, { file: files.outputs });
  if (texts.cols !== d)
    throw new ClipNadError(`texts have ${texts.cols} dimensions, the outputs ${d}`, { file: files.texts });
  if (texts.data.length !== M * d || M < 1)
    throw new ClipNadError(`texts must be a non-empty M×d matrix, got ${M}×${texts.cols}`, { file: files.texts });
  if (!Number.isInteger(rank) || rank < 1) throw new ClipNadError(`the rank must be a positive integer, got ${rank}`);
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new ClipNadError(`the number of iterations must be a positive integer, got ${iterations}`);
  const r = Math.min(rank, N, d);
  if (iterations > r)
    throw new ClipNadError(
      `${iterations} iterations exceed the rank ${r} of the span (min(rank, N, d)): later texts would be zero`,
    );
  if (iterations > M)
    throw new ClipNadError(`${iterations} iterations need at least as many texts, got ${M}`, { file: files.texts });
  let bad = firstNonFiniteRow(outputs.data, d);
  if (bad >= 0)
    throw new ClipNadError(`output row ${bad} holds a NaN or infinite value`, {
      file: files.outputs,
      key: `row ${bad}`,
    });
  bad = firstNonFiniteRow(texts.data, d);
  if (bad >= 0)
    throw new ClipNadError(`text row ${bad} holds a NaN or infinite value`, { file: files.texts, key: `row ${bad}` });
  const X = outputs.data;

  // 1. V: top-r right singular vectors of the (uncentred) outputs, r×d
  const V = rightSingular(X, N, d, r);
  // 2. centred outputs in V's coordinates: Cr = (X − mean)·Vᵀ (N×r), Σ = Crᵀ Cr (r×r)
  const mean = new Float64Array(d);
  for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j] / N;
  let total = 0;
  const Cr = new Float64Array(N * r);
  const row = new Float64Array(d);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < d; j++) {
      row[j] = X[i * d + j] - mean[j];
      total += row[j] * row[j];
    }
    for (let q = 0; q < r; q++) {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += row[j] * V[q * d + j];
      Cr[i * r + q] = acc;
    }
  }
  const S = new Float64Array(r * r);
  for (let i = 0; i < N; i++) {
    for (let p = 0; p < r; p++) {
      const a = Cr[i * r + p];
      for (let q = p; q < r; q++) S[p * r + q] += a * Cr[i * r + q];
    }
  }
  for (let p = 0; p < r; p++) for (let q = 0; q < p; q++) S[p * r + q] = S[q * r + p];
  // texts in V's coordinates: τ = T·Vᵀ (M×r); their projection T·VᵀV is τ·V
  const tau = new Float64Array(M * r);
  for (let t = 0; t < M; t++) {
    for (let q = 0; q < r; q++) {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += texts.data[t * d + j] * V[q * d + j];
      tau[t * r + q] = acc;
    }
  }
  const chosen: number[] = [];
  const variance: number[] = [];
  const basis = new Float64Array(iterations * d);
  const St = new Float64Array(r);
  for (let it = 0; it < iterations; it++) {
    // spread of C·t over images: var ∝ τᵀ Σ τ (C stays centred); argmax, first index on ties (np.argmax)
    let best = -1;
    let bestVar = -Infinity;
    for (let t = 0; t < M; t++) {
      let v = 0;
      for (let p = 0; p < r; p++) {
        let acc = 0;
        for (let q = 0; q < r; q++) acc += S[p * r + q] * tau[t * r + q];
        v += tau[t * r + p] * acc;
      }
      if (v > bestVar) {
        bestVar = v;
        best = t;
      }
    }
    const ts = tau.slice(best * r, (best + 1) * r);
    let nrm = 0;
    for (let q = 0; q < r; q++) nrm += ts[q] * ts[q];
    if (!(nrm > 0))
      throw new ClipNadError(
        `TextSpan iteration ${it + 1}: every remaining text is zero in the span (fewer independent texts than ` +
          `iterations)`,
        { file: files.texts },
      );
    chosen.push(best);
    variance.push(bestVar / nrm / N);
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let q = 0; q < r; q++) acc += ts[q] * V[q * d + j];
      basis[it * d + j] = acc;
    }
    // C ← C·Q, texts ← texts·Q with Q = I − t* t*ᵀ/|t*|²: Σ ← QΣQ
    for (let p = 0; p < r; p++) {
      let acc = 0;
      for (let q = 0; q < r; q++) acc += S[p * r + q] * ts[q];
      St[p] = acc;
    }
    let tSt = 0;
    for (let p = 0; p < r; p++) tSt += ts[p] * St[p];
    for (let p = 0; p < r; p++) {
      for (let q = 0; q < r; q++) {
        S[p * r + q] += (-ts[p] * St[q] - St[p] * ts[q]) / nrm + (ts[p] * ts[q] * tSt) / (nrm * nrm);
      }
    }
    for (let t = 0; t < M; t++) {
      let dot = 0;
      for (let q = 0; q < r; q++) dot += tau[t * r + q] * ts[q];
      const f = dot / nrm;
      if (f !== 0) for (let q = 0; q < r; q++) tau[t * r + q] -= f * ts[q];
    }
  }
  return { chosen, variance, totalVariance: total / N, mean, basis, d };
}

/** Top-r right singular vectors (r×d) of an N×d matrix, through the smaller of its two Gram matrices. */
function rightSingular(X: ArrayLike<number>, N: number, d: number, r: number): Float64Array {
  if (N <= d) return topSingular(X, N, d, r).right;
  const G = new Float64Array(d * d);
  for (let i = 0; i < N; i++) {
    for (let p = 0; p < d; p++) {
      const a = X[i * d + p];
      if (a === 0) continue;
      for (let q = p; q < d; q++) G[p * d + q] += a * X[i * d + q];
    }
  }
  for (let p = 0; p < d; p++) for (let q = 0; q < p; q++) G[p * d + q] = G[q * d + p];
  return symmetricEigen(G, d).vectors.slice(0, r * d);
}

/**
 * Outputs rebuilt from their TextSpan texts: mean + P(r − mean), P = the projector on the chosen (orthogonal) texts.
 * `rows` is any N×d set of outputs of the same unit (the fitted images or new ones). Float64, N×d.
 */
export function textSpanReconstruct(
  span: TextSpanResult,
  rows: ArrayLike<number>,
  N: number,
  iterations = span.chosen.length,
): Float64Array {
  const { d, mean, basis } = span;
  if (rows.length !== N * d) throw new ClipNadError(`outputs have ${rows.length} values, expected ${N}×${d}`);
  const k = Math.min(iterations, span.chosen.length);
  const norms = new Float64Array(k);
  for (let j = 0; j < k; j++) for (let c = 0; c < d; c++) norms[j] += basis[j * d + c] ** 2;
  const out = new Float64Array(N * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < N; i++) {
    for (let c = 0; c < d; c++) {
      centred[c] = rows[i * d + c] - mean[c];
      out[i * d + c] = mean[c];
    }
    for (let j = 0; j < k; j++) {
      if (!(norms[j] > 0)) continue;
      let dot = 0;
      for (let c = 0; c < d; c++) dot += centred[c] * basis[j * d + c];
      const f = dot / norms[j];
      for (let c = 0; c < d; c++) out[i * d + c] += f * basis[j * d + c];
    }
  }
  return out;
}
