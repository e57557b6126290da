import { ClipNadError } from "../errors";
import { AttentionPoolWeights, coefficientsToEmbedding, embeddingBias } from "../decompose";
import { OrtGemm } from "../onnx/gemm";
import { CoefficientRows } from "./rows";
import { accuracy, predictOne } from "./zeroshot";

/**
 * Zero-shot accuracy of embeddings edited linearly in the coefficients s:
 *   M̃(I) = M̄ + (s(I) − s̄)·V,   V: U×d (U = H·C, row h·C + n),
 * which is what the §A.5 reconstruction with explicit unit directions is (src/analysis/reconstruct.ts computes
 * the same per image in JS): pairs with unit directions p^{n,h}: V[h·C+n] = (w^{n,h}·p^{n,h}) p^{n,h}; neurons with one
 * unit direction p^n each: V[h·C+n] = (w^{n,h}·p^n) p^n. Here the edits of a chunk of images are one GEMM each
 * on onnxruntime (RN50x16: 113 M multiply-adds per image and edit, which JS loops cannot do for 50,000 images).
 * Memory: the edits V as given (U·d float32 each; RN50x16 453 MB, no transposed copy) + one chunk of s.
 */

/** V for pairs with explicit unit directions (U×d each, zero rows allowed). */
export function pairDirectionEdit(w: Float32Array, directions: Float32Array, U: number): Float32Array {
  const d = w.length / U;
  if (directions.length !== U * d)
    throw new ClipNadError(`pair directions have ${directions.length} values, expected ${U}×${d}`);
  const V = new Float32Array(U * d);
  for (let u = 0; u < U; u++) {
    let a = 0;
    for (let j = 0; j < d; j++) a += w[u * d + j] * directions[u * d + j];
    for (let j = 0; j < d; j++) V[u * d + j] = a * directions[u * d + j];
  }
  return V;
}

/** V for neurons with one explicit unit direction each (C×d). */
export function neuronDirectionEdit(w: Float32Array, directions: Float32Array, H: number, C: number): Float32Array {
  const d = w.length / (H * C);
  if (directions.length !== C * d)
    throw new ClipNadError(`neuron directions have ${directions.length} values, expected ${C}×${d}`);
  const V = new Float32Array(H * C * d);
  for (let h = 0; h < H; h++) {
    for (let n = 0; n < C; n++) {
      const u = h * C + n;
      let a = 0;
      for (let j = 0; j < d; j++) a += w[u * d + j] * directions[n * d + j];
      for (let j = 0; j < d; j++) V[u * d + j] = a * directions[n * d + j];
    }
  }
  return V;
}

export interface LinearEditContext {
  apw: AttentionPoolWeights;
  /** s̄ (H×C) of the collection that defines the means. */
  sBar: Float32Array;
  /** Unit-row class embeddings (classes × d). */
  classifier: Float32Array;
  bias?: Float64Array;
}

export interface LinearEditResult {
  images: number;
  /** Accuracy per edit, in the order given. */
  accuracy: number[];
  predictions: Int32Array[];
}

/** Accuracy of every edit V (U×d) on the images of `rows`, streamed in chunks of `chunk` images. */
export async function linearEditAccuracy(
  rows: CoefficientRows,
  labels: ArrayLike<number>,
  ctx: LinearEditContext,
  edits: Float32Array[],
  opts: { chunk?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<LinearEditResult> {
  const { apw, sBar, classifier } = ctx;
  const { H, C, d } = apw;
  const U = H * C;
  if (rows.H !== H || rows.C !== C) throw new ClipNadError(`coefficients are ${rows.H}×${rows.C}, model is ${H}×${C}`);
  if (labels.length !== rows.N) throw new ClipNadError(`${labels.length} labels for ${rows.N} images`);
  for (const V of edits)
    if (V.length !== U * d) throw new ClipNadError(`an edit has ${V.length} values, expected U×d = ${U}×${d}`);
  const meanEmb = coefficientsToEmbedding(apw, sBar, ctx.bias ?? embeddingBias(apw));
  const N = rows.N;
  const B = Math.max(1, opts.chunk ?? 64);
  const delta = new Float32Array(B * U);
  const predictions = edits.map(() => new Int32Array(N));
  const scratch = new Float64Array(classifier.length / d);
  const emb = new Float64Array(d);
  const gemm = await OrtGemm.create("float32", undefined, { transB: false }); // Δ (n×U) · V (U×d), V as given
  try {
    for (let start = 0; start < N; start += B) {
      const n = Math.min(B, N - start);
      for (let i = 0; i < n; i++) {
        const s = rows.row(start + i);
        for (let u = 0; u < U; u++) delta[i * U + u] = s[u] - sBar[u];
      }
      for (let e = 0; e < edits.length; e++) {
        const out = await gemm.run(delta, n, edits[e], d, U); // n×d
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < d; j++) emb[j] = meanEmb[j] + out[i * d + j];
          predictions[e][start + i] = predictOne(emb, classifier, scratch);
        }
      }
      opts.onProgress?.(start + n, N);
    }
  } finally {
    await gemm.release();
  }
  return { images: N, accuracy: predictions.map((p) => accuracy(p, labels)), predictions };
}
