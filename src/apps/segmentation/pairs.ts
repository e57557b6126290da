/**
 * The paper's segmentation (paper.md §A.9) and its two ablations, from neuron-head pairs picked per class:
 *   selection   the top k pairs of class p by ⟨r̂^{n,h}, t_p⟩, r̂ = the pair's signed first PC ±w/|w|;
 *   pairs       logit[p,i] = (1/k) Σ_{(n,h) ∈ top_k(p)} Z_{i,n} · cos(r_i^h, t_p)
 *   neurons     the same with cos(r_i^h, t_p) set to 1: (1/k) Σ Z_{i,n}
 *   heads       the same with Z_{i,n} set to 1:         (1/k) Σ cos(r_i^h, t_p)
 * with the sink token of both maps (Z and the head similarities) interpolated from its west, north and north-west
 * neighbours before the product. Dense form: with M_p[h,n] = 1 for the selected pairs,
 *   pairs[p,i] = (1/k) Σ_h L[p,i,h] · (M_p Z_i)[h]  — a (P·H)×C by C×K GEMM and an H-term sum per (p, i).
 * The sign of r̂: with a collection, its majority sign (pairPCAFromCollection, the paper's §A.4 rule); without
 * one, +w/|w| — Z is post-ReLU, so a pair's largest deviations from its mean are mostly activations above it, and
 * the majority sign is + (`defaultPairSigns`; the toy model's collection agrees on most pairs).
 */
import { ClipNadError } from "../../errors";
import { Decomposition } from "../../decompose/decomposition";
import { topIndices } from "../../util/topk";
import { headTextProjections, runSegmentationGraph } from "./graphs";
import { interpolateSink } from "./sink";

/** k = 20,000 of RN50x16's 48 × 3072 = 147,456 pairs (cfg_context59.py), scaled to another model's H·C. */
export function defaultPairCount(H: number, C: number): number {
  return Math.max(1, Math.round((20000 * H * C) / (48 * 3072)));
}

/** The sign of every pair's first PC when no collection is given: +1 (r̂ = +w/|w|). */
export function defaultPairSigns(H: number, C: number): Int8Array {
  return new Int8Array(H * C).fill(1);
}

/**
 * ⟨r̂^{n,h}, t_p⟩ for P classes (P×H×C): sign · (w·t_p)/|w| with t_p unit rows. NaN where a pair has no direction
 * (|w| = 0) or no sign (it never varies over the collection): such pairs are never selected.
 */
export function pairClassScores(dec: Decomposition, T: Float32Array, sign: Int8Array): Float32Array {
  const U = dec.H * dec.C;
  if (sign.length !== U) throw new ClipNadError(`pair signs have ${sign.length} values, expected H×C = ${U}`);
  const { wDotT } = dec.textTables(T);
  const P = T.length / dec.d;
  const out = new Float32Array(P * U);
  for (let p = 0; p < P; p++) {
    for (let u = 0; u < U; u++) {
      const wn = dec.wNorms[u];
      out[p * U + u] = wn > 0 && sign[u] !== 0 ? (sign[u] * wDotT[p * U + u]) / wn : NaN;
    }
  }
  return out;
}

/** The pairs each class uses: P×k pair indices h·C + n, best first (ties: lower index first). */
export interface PairSelection {
  P: number;
  H: number;
  C: number;
  k: number;
  pairs: Int32Array;
}

export function selectPairs(dec: Decomposition, T: Float32Array, opts: { k: number; sign: Int8Array }): PairSelection {
  const { H, C } = dec;
  const U = H * C;
  const k = opts.k;
  if (!Number.isInteger(k) || k < 1 || k > U)
    throw new ClipNadError(`k (pairs per class) must be an integer in 1..${U} (H×C), got ${k}`);
  const scores = pairClassScores(dec, T, opts.sign);
  const P = scores.length / U;
  const pairs = new Int32Array(P * k);
  for (let p = 0; p < P; p++) {
    const top = topIndices(scores.subarray(p * U, (p + 1) * U), k);
    if (top.length < k)
      throw new ClipNadError(`only ${top.length} pairs have a direction and a sign; k = ${k} is too many`);
    pairs.set(top, p * k);
  }
  return { P, H, C, k, pairs };
}

export type PairFactor = "product" | "neurons" | "heads";

/** Per-crop token logits of the pair methods, for a fixed selection (the matrices are built once). */
export class PairLogits {
  private readonly M?: Float32Array; // product: (P·H)×C 0/1
  private readonly Mn?: Float32Array; // neurons: P×C counts over heads
  private readonly counts?: Float32Array; // heads: P×H counts over neurons
  private heads?: ReturnType<typeof headTextProjections>;

  constructor(
    readonly factor: PairFactor,
    readonly selection: PairSelection,
    readonly grid: number,
  ) {
    const { P, H, C, k, pairs } = selection;
    if (factor === "product") this.M = new Float32Array(P * H * C);
    if (factor === "neurons") this.Mn = new Float32Array(P * C);
    if (factor === "heads") this.counts = new Float32Array(P * H);
    for (let p = 0; p < P; p++) {
      for (let r = 0; r < k; r++) {
        const u = pairs[p * k + r];
        const h = Math.floor(u / C),
          n = u % C;
        if (this.M) this.M[(p * H + h) * C + n] = 1;
        if (this.Mn) this.Mn[p * C + n] += 1;
        if (this.counts) this.counts[p * H + h] += 1;
      }
    }
  }

  /**
   * B crops' token logits (B×P×K) from the image graph's Z (B×C×K) and a (B×H×(K+1)); T are the same class rows
   * (P×d) the selection was made with.
   */
  async tokenLogits(
    dec: Decomposition,
    Z: Float32Array,
    a: Float32Array,
    B: number,
    T: Float32Array,
  ): Promise<Float32Array> {
    const { P, H, k } = this.selection;
    const apw = dec.apw;
    const K = apw.K,
      g = this.grid;
    const out = new Float32Array(B * P * K);
    if (this.factor === "neurons") {
      const G = await runSegmentationGraph("selectedActivations", apw, B, { Z, M: this.Mn, Q: P }); // B×P×K
      for (let q = 0; q < B * P; q++) interpolateSink(G, q * K, 1, g);
      for (let e = 0; e < out.length; e++) out[e] = G[e] / k;
      return out;
    }
    this.heads ??= headTextProjections(apw, T);
    const L = await runSegmentationGraph("headSimilarities", apw, B, { Z, a, heads: this.heads }); // B×H×K×P
    for (let bh = 0; bh < B * H; bh++) for (let p = 0; p < P; p++) interpolateSink(L, bh * K * P + p, P, g);
    if (this.factor === "heads") {
      const c = this.counts!;
      for (let b = 0; b < B; b++) {
        for (let p = 0; p < P; p++) {
          for (let i = 0; i < K; i++) {
            let acc = 0;
            for (let h = 0; h < H; h++) acc += c[p * H + h] * L[((b * H + h) * K + i) * P + p];
            out[(b * P + p) * K + i] = acc / k;
          }
        }
      }
      return out;
    }
    const G = await runSegmentationGraph("selectedActivations", apw, B, { Z, M: this.M, Q: P * H }); // B×(P·H)×K
    for (let q = 0; q < B * P * H; q++) interpolateSink(G, q * K, 1, g);
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < P; p++) {
        const gBase = (b * P + p) * H * K;
        for (let i = 0; i < K; i++) {
          let acc = 0;
          for (let h = 0; h < H; h++) acc += L[((b * H + h) * K + i) * P + p] * G[gBase + h * K + i];
          out[(b * P + p) * K + i] = acc / k;
        }
      }
    }
    return out;
  }
}
