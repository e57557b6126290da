import { ClipNadError } from "../errors";
import { AttentionPoolWeights, coefficientsToEmbedding, embeddingBias } from "../decompose";
import { PairPCA } from "./pca";
import { CoefficientRows } from "./rows";
import { accuracy, predictOne } from "./zeroshot";

/**
 * "Reconstruction from PCs" (paper.md §A.5): zero-shot accuracy when every unit's contribution is replaced by
 * its mean plus its projection on its PC(s):  M̃ = Σ_u [μ^u + Σ_k ⟨r^u − μ^u, p_k^u⟩ p_k^u].
 * Means μ come from the PCA collection (sBar); evaluation images stream through `rows`.
 *  - pairs, analytic PCs ±w/|w| (pairPCA): ⟨δw, p⟩p = δw, so M̃ = embedding of s̄ + mask·δ (cost C·C per image);
 *  - pairs, arbitrary unit directions p (H×C×d, e.g. empirical or text-approximated PCs): M̃ = M̄ + Σ δ (w·p) p;
 *  - neurons with m PCs: ⟨Δ^n, pc_k⟩ = Σ_h δ^{n,h} (w^{n,h}·pc_k) from a C×m×H table (cost C·m·(H+d) per image).
 */

export interface ReconstructionContext {
  apw: AttentionPoolWeights;
  /** Pair directions H×C×d. */
  w: Float32Array;
  /** Mean coefficients of the PCA collection (H×C). */
  sBar: Float32Array;
  /** Unit-row class embeddings (classes × d). */
  classifier: Float32Array;
  /** W_O b_V + b_O (optional cache). */
  bias?: Float64Array;
}

export interface ReconstructionOptions {
  /** Analytic pair PCs (sign·w/|w|); pairs that never varied (sign 0) keep only their mean. */
  pairPCA?: PairPCA;
  /** Or explicit unit pair directions (H×C×d); takes precedence over pairPCA. */
  pairDirections?: Float32Array;
  /** Neuron PCs (C×m×d), e.g. from neuronPCA. */
  neuronPCs?: { pcs: Float32Array; m: number };
  /** How many neuron PCs to evaluate (default [1, 2, 4], limited to m). */
  neuronK?: number[];
  onProgress?: (done: number, total: number) => void;
}

export interface ReconstructionResult {
  images: number;
  unmodified: number;
  pairs: number;
  neurons: { pcs: number; accuracy: number }[];
  predictions: { unmodified: Int32Array; pairs: Int32Array; neurons: Int32Array[] };
}

export function reconstructionAccuracy(
  rows: CoefficientRows,
  labels: ArrayLike<number>,
  ctx: ReconstructionContext,
  opts: ReconstructionOptions = {},
): ReconstructionResult {
  const { apw, w, sBar, classifier } = ctx;
  const { H, C, d } = apw;
  const U = H * C;
  if (rows.H !== H || rows.C !== C) throw new ClipNadError(`coefficients are ${rows.H}×${rows.C}, model is ${H}×${C}`);
  if (labels.length !== rows.N) throw new ClipNadError(`${labels.length} labels for ${rows.N} images`);
  const bias = ctx.bias ?? embeddingBias(apw);
  const meanEmb = coefficientsToEmbedding(apw, sBar, bias);

  // pairs: either a mask (analytic) or explicit directions with α = w·p
  const dirs = opts.pairDirections;
  let alpha: Float64Array | undefined;
  if (dirs) {
    if (dirs.length !== U * d) throw new ClipNadError(`pair directions have ${dirs.length} values, expected H×C×d`);
    alpha = new Float64Array(U);
    for (let u = 0; u < U; u++) {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += w[u * d + j] * dirs[u * d + j];
      alpha[u] = acc;
    }
  }
  const mask = opts.pairPCA?.sign;

  // neurons: WP[n][p][h] = w^{n,h}·pc_p^n
  const npc = opts.neuronPCs;
  const m = npc?.m ?? 0;
  const ks = (opts.neuronK ?? [1, 2, 4]).filter((k) => k >= 1 && k <= m);
  if (ks.some((k, t) => t > 0 && k <= ks[t - 1])) throw new ClipNadError(`neuronK must be increasing, got [${ks.join(",")}]`);
  const WP = new Float64Array(C * m * H);
  if (npc) {
    if (npc.pcs.length !== C * m * d) throw new ClipNadError(`neuron PCs have ${npc.pcs.length} values, expected C×m×d`);
    for (let n = 0; n < C; n++)
      for (let p = 0; p < m; p++)
        for (let h = 0; h < H; h++) {
          let acc = 0;
          const o = (h * C + n) * d;
          const q = (n * m + p) * d;
          for (let j = 0; j < d; j++) acc += w[o + j] * npc.pcs[q + j];
          WP[(n * m + p) * H + h] = acc;
        }
  }

  const N = rows.N;
  const predU = new Int32Array(N);
  const predP = new Int32Array(N);
  const predN = ks.map(() => new Int32Array(N));
  const sTilde = new Float32Array(U);
  const acc = new Float64Array(d);
  const scratch = new Float64Array(classifier.length / d);
  const kmax = ks.length ? Math.max(...ks) : 0;
  for (let i = 0; i < N; i++) {
    const s = rows.row(i);
    predU[i] = predictOne(coefficientsToEmbedding(apw, s, bias), classifier, scratch);
    if (alpha) {
      for (let j = 0; j < d; j++) acc[j] = meanEmb[j];
      for (let u = 0; u < U; u++) {
        const f = (s[u] - sBar[u]) * alpha[u];
        if (f === 0) continue;
        for (let j = 0; j < d; j++) acc[j] += f * dirs![u * d + j];
      }
      predP[i] = predictOne(acc, classifier, scratch);
    } else {
      for (let u = 0; u < U; u++) sTilde[u] = mask && mask[u] === 0 ? sBar[u] : s[u];
      predP[i] = predictOne(coefficientsToEmbedding(apw, sTilde, bias), classifier, scratch);
    }
    if (kmax) {
      for (let j = 0; j < d; j++) acc[j] = meanEmb[j];
      let next = 0;
      for (let p = 0; p < kmax; p++) {
        for (let n = 0; n < C; n++) {
          let beta = 0;
          const o = (n * m + p) * H;
          for (let h = 0; h < H; h++) beta += (s[h * C + n] - sBar[h * C + n]) * WP[o + h];
          if (beta === 0) continue;
          const q = (n * m + p) * d;
          for (let j = 0; j < d; j++) acc[j] += beta * npc!.pcs[q + j];
        }
        while (next < ks.length && ks[next] === p + 1) predN[next++][i] = predictOne(acc, classifier, scratch);
      }
    }
    opts.onProgress?.(i + 1, N);
  }
  return {
    images: N,
    unmodified: accuracy(predU, labels),
    pairs: accuracy(predP, labels),
    neurons: ks.map((k, t) => ({ pcs: k, accuracy: accuracy(predN[t], labels) })),
    predictions: { unmodified: predU, pairs: predP, neurons: predN },
  };
}
