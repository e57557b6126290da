import * as ort from "onnxruntime-node";
import { ClipNadError } from "../errors";
import { DataType, GraphBuilder } from "../onnx";
import { sessionOptions } from "../clip/session";
import { AttentionPoolWeights } from "./weights";
import { NeuronGram, pairConstants, pairTextTables } from "./directions";
import { outputProjectionByHead } from "./tables";

/**
 * Norms of every unit's contribution for a batch of images, from the H×C coefficients s alone (paper.md §D; the
 * d-vectors r are never formed). With r^{n,h}(I) = s^{n,h} w^{n,h} + c^h (c^{n,h} = c^h, the same for every n):
 *
 *   pair    ‖r^{n,h}‖² = s² |w^{n,h}|² + 2 s (w^{n,h}·c^h) + |c^h|²                       3 scalars per pair
 *   neuron  r^n = Σ_h s_h w^{n,h} + c̄,  c̄ = Σ_h c^h = W_O b_V / C + b_O / C  (the same for every n).
 *           With x = [s_1 … s_H, 1] and Ĝ^n the Gram matrix of the H + 1 vectors [w^{n,1} … w^{n,H}, c̄]:
 *           ‖r^n‖² = xᵀ Ĝ^n x = sᵀ G^n s + 2 s·g^n + γ,                                 C·(H² + H) per image
 *           G^n[h][h'] = w^{n,h}·w^{n,h'} (the neuron Gram),  g^n_h = w^{n,h}·c̄,  γ = |c̄|²
 *   head    r^h = Σ_n r^{n,h} = W_O^h (W_V^h s^h + b_V^h) + b_O / H  (Σ_n c^{n,h} = C c^h)  C·C + H·d·dh per image
 *
 * These are the paper's retrieval norms ("raw": the bias shares included). The centred variants are those of
 * the collection's stored top-k: s → δ = s − s̄ and every constant term dropped (the mean image's contribution
 * removed): pair |δ|·|w|, neuron sqrt(δᵀ G^n δ), head ‖W_O^h W_V^h δ^h‖.
 *
 * Pairs are scalar work (the caller's loop; `pairNormCoefficients` gives the three scalars); neurons and heads run
 * on onnxruntime (batched GEMM), for all units or a subset. Float32 arithmetic, deterministic for a given machine and
 * chunking. Memory: the weights (C·C + H·d·dh + C'·H² floats) plus a few R×H×C buffers per run.
 */

export type NormKind = "raw" | "centred";

export const NORM_KINDS: readonly NormKind[] = ["raw", "centred"];

export function checkNormKind(norm: unknown): NormKind {
  if (norm !== "raw" && norm !== "centred") {
    throw new ClipNadError(`norm must be "raw" or "centred", got ${JSON.stringify(norm)}`);
  }
  return norm;
}

/**
 * Per pair, the coefficients of ‖r^{n,h}‖² = a x² + b x + e as a function of x = s (raw) or x = s − s̄
 * (centred): raw a = |w|², b = 2 w·c^h, e = |c^h|²; centred a = |w|², b = e = 0. H×C each, float64.
 */
export interface PairNormCoefficients {
  a: Float64Array;
  b: Float64Array;
  e: Float64Array;
}

export function pairNormCoefficients(
  apw: AttentionPoolWeights, wNorms: Float32Array, norm: NormKind,
): PairNormCoefficients {
  const { H, C, d } = apw;
  const HC = H * C;
  if (wNorms.length !== HC) throw new ClipNadError(`|w| has ${wNorms.length} values, expected H×C = ${HC}`);
  const a = new Float64Array(HC), b = new Float64Array(HC), e = new Float64Array(HC);
  for (let p = 0; p < HC; p++) a[p] = wNorms[p] * wNorms[p];
  if (checkNormKind(norm) === "centred") return { a, b, e };
  const c = pairConstants(apw);
  // w^{n,h}·c^{h'} for every h' (the text tables with the H constants as texts); pairs need the diagonal h' = h.
  const { wDotT } = pairTextTables(apw, c, c);
  for (let h = 0; h < H; h++) {
    let cc = 0;
    for (let j = 0; j < d; j++) cc += c[h * d + j] * c[h * d + j];
    for (let n = 0; n < C; n++) {
      const p = h * C + n;
      b[p] = 2 * wDotT[h * HC + p];
      e[p] = cc;
    }
  }
  return { a, b, e };
}

/** ‖r‖² of one pair from its three scalars (x = s, or s − s̄ for centred coefficients). */
export function pairNormSquared(q: PairNormCoefficients, p: number, x: number): number {
  return (q.a[p] * x + q.b[p]) * x + q.e[p];
}

/** Norms of every pair (H×C) for one image's s (H×C): the plain-array entry point. `mean` = s̄ for centred. */
export function pairNorms(s: ArrayLike<number>, q: PairNormCoefficients, mean?: ArrayLike<number>): Float32Array {
  if (s.length !== q.a.length || (mean && mean.length !== s.length)) {
    throw new ClipNadError(`pairNorms: s has ${s.length} values, the tables ${q.a.length}, the mean ${mean?.length}`);
  }
  const out = new Float32Array(s.length);
  for (let p = 0; p < s.length; p++) {
    out[p] = Math.sqrt(Math.max(0, pairNormSquared(q, p, mean ? s[p] - mean[p] : s[p])));
  }
  return out;
}

/** Which neurons / heads a UnitNormsOrt computes: "all", a list of indices, or none ([]). */
export type UnitSubset = "all" | readonly number[];

function subsetIndices(subset: UnitSubset, count: number, what: string): number[] {
  if (subset === "all") return Array.from({ length: count }, (_, i) => i);
  for (const i of subset) {
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new ClipNadError(`${what} ${i} is out of range: expected an integer in 0..${count - 1}`);
    }
  }
  return subset.slice();
}

/**
 * The graphs read s as stored (R×H×C) and transpose it first: gathering a subset or subtracting s̄ along the
 * innermost axis of R×H×C costs more than the matrix products. `subset`: gather these units; `raw`: add the
 * constant terms (centred: subtract s̄ instead, and no constants).
 */
function neuronGraph(H: number, C: number, m: number, subset: boolean, raw: boolean): Uint8Array {
  const g = new GraphBuilder("clip_nad_neuron_norms");
  const S = g.input("S", DataType.FLOAT, ["R", H, C]);
  const G = g.input("G", DataType.FLOAT, [m, H, H]);
  let xN = g.node("Transpose", [S], { perm: [2, 0, 1] }); // C×R×H
  if (subset) xN = g.node("Gather", [xN, g.input("neurons", DataType.INT64, [m])], { axis: 0 }); // m×R×H
  if (!raw) xN = g.node("Sub", [xN, g.input("mean", DataType.FLOAT, [m, 1, H])]);
  const xG = g.node("MatMul", [xN, G]); // m×R×H
  let sq = g.node("ReduceSum", [g.node("Mul", [xG, xN]), g.constI64("axis2", [2])], { keepdims: 0 }); // m×R: xᵀ G x
  if (raw) {
    const xg = g.node("MatMul", [xN, g.input("g", DataType.FLOAT, [m, H, 1])]); // m×R×1: x·g
    const linear = g.node("Squeeze", [xg, g.constI64("axis2s", [2])]);
    const twoLin = g.node("Mul", [linear, g.constF("two", [1], [2])]); // m×R: 2 x·g
    sq = g.node("Add", [g.node("Add", [sq, twoLin]), g.input("gamma", DataType.FLOAT, [1])]);
  }
  g.node("Sqrt", [g.node("Relu", [sq])], {}, "neuron"); // m×R
  g.output("neuron");
  return g.toBytes();
}

function headGraph(H: number, C: number, d: number, dh: number, m: number, subset: boolean, raw: boolean): Uint8Array {
  const g = new GraphBuilder("clip_nad_head_norms");
  const S = g.input("S", DataType.FLOAT, ["R", H, C]);
  const wv = g.input("Wv", DataType.FLOAT, [m, dh, C]);
  const wo = g.input("WoT", DataType.FLOAT, [m, d, dh]);
  let xT = g.node("Transpose", [S], { perm: [1, 2, 0] }); // H×C×R
  if (subset) xT = g.node("Gather", [xT, g.input("heads", DataType.INT64, [m])], { axis: 0 }); // m×C×R
  if (!raw) xT = g.node("Sub", [xT, g.input("mean", DataType.FLOAT, [m, C, 1])]);
  let v = g.node("MatMul", [wv, xT]); // m×dh×R: W_V^h s^h
  if (raw) v = g.node("Add", [v, g.input("bv", DataType.FLOAT, [m, dh, 1])]); // + b_V^h
  let o = g.node("MatMul", [wo, v]); // m×d×R
  if (raw) o = g.node("Add", [o, g.input("bo", DataType.FLOAT, [1, d, 1])]); // + b_O / H: r^h
  g.node("Sqrt", [g.node("ReduceSumSquare", [o], { axes: [1], keepdims: 0 })], {}, "head"); // m×R
  g.output("head");
  return g.toBytes();
}

export interface UnitNormsOptions {
  norm: NormKind;
  /** s̄ (H×C): required for centred norms. */
  mean?: Float32Array;
  /** Neurons to compute (default "all"; [] = none). */
  neurons?: UnitSubset;
  /** Heads to compute (default "all"; [] = none). */
  heads?: UnitSubset;
}

/** The weight-only inputs: attention-pool weights and the per-neuron Gram (a Decomposition has both). */
export interface UnitNormWeights {
  apw: AttentionPoolWeights;
  neuronGram: NeuronGram;
}

/** Neuron and head norms (raw or centred) of R images at a time on onnxruntime; see the module comment. */
export class UnitNormsOrt {
  private constructor(
    private readonly neuronSession: ort.InferenceSession | null,
    private readonly headSession: ort.InferenceSession | null,
    private readonly neuronFeeds: Record<string, ort.Tensor>,
    private readonly headFeeds: Record<string, ort.Tensor>,
    readonly H: number,
    readonly C: number,
    /** The neurons computed, in output order. */
    readonly neurons: readonly number[],
    /** The heads computed, in output order. */
    readonly heads: readonly number[],
  ) {}

  static async create(weights: UnitNormWeights, opts: UnitNormsOptions): Promise<UnitNormsOrt> {
    const { apw, neuronGram } = weights;
    const { C, H, d, dh, Wv, bv, bo } = apw;
    const norm = checkNormKind(opts.norm);
    if (neuronGram.H !== H || neuronGram.C !== C) {
      throw new ClipNadError(`neuron Gram is ${neuronGram.C}×${neuronGram.H}², expected ${C}×${H}²`);
    }
    const neurons = subsetIndices(opts.neurons ?? "all", C, "neuron");
    const heads = subsetIndices(opts.heads ?? "all", H, "head");
    const raw = norm === "raw";
    // s̄ feeds only the centred graphs (raw norms keep the constant terms instead)
    const mean = raw ? new Float32Array(0) : opts.mean;
    if (!mean || (!raw && mean.length !== H * C)) {
      throw new ClipNadError(`centred norms need the mean coefficients s̄ (H×C = ${H * C} values)`);
    }
    const i64 = (v: number[]) => new ort.Tensor("int64", BigInt64Array.from(v.map(BigInt)), [v.length]);

    let neuronSession: ort.InferenceSession | null = null;
    const neuronFeeds: Record<string, ort.Tensor> = {};
    if (neurons.length > 0) {
      const m = neurons.length;
      const G = new Float32Array(m * H * H);
      neurons.forEach((n, k) => G.set(neuronGram.data.subarray(n * H * H, (n + 1) * H * H), k * H * H));
      const lin = new Float32Array(m * H);
      let gamma = 0;
      if (raw) {
        // c̄ = Σ_h c^h; g^n_h = w^{n,h}·c̄ from the text tables with c̄ as the one text.
        const c = pairConstants(apw);
        const cBar = new Float32Array(d);
        for (let j = 0; j < d; j++) {
          let acc = 0;
          for (let h = 0; h < H; h++) acc += c[h * d + j];
          cBar[j] = acc;
          gamma += acc * acc;
        }
        const { wDotT } = pairTextTables(apw, cBar, c);
        neurons.forEach((n, k) => { for (let h = 0; h < H; h++) lin[k * H + h] = wDotT[h * C + n]; });
      }
      const subset = !neurons.every((n, k) => n === k) || m !== C;
      neuronSession = await ort.InferenceSession.create(neuronGraph(H, C, m, subset, raw), sessionOptions());
      neuronFeeds.G = new ort.Tensor("float32", G, [m, H, H]);
      if (subset) neuronFeeds.neurons = i64(neurons);
      if (raw) {
        neuronFeeds.g = new ort.Tensor("float32", lin, [m, H, 1]);
        neuronFeeds.gamma = new ort.Tensor("float32", Float32Array.of(gamma), [1]);
      } else {
        const meanN = new Float32Array(m * H); // s̄ per neuron, m×1×H
        neurons.forEach((n, k) => { for (let h = 0; h < H; h++) meanN[k * H + h] = mean[h * C + n]; });
        neuronFeeds.mean = new ort.Tensor("float32", meanN, [m, 1, H]);
      }
    }

    let headSession: ort.InferenceSession | null = null;
    const headFeeds: Record<string, ort.Tensor> = {};
    if (heads.length > 0) {
      const m = heads.length;
      const woAll = outputProjectionByHead(apw); // H×d×dh
      const wv = new Float32Array(m * dh * C), bvm = new Float32Array(m * dh), wo = new Float32Array(m * d * dh);
      heads.forEach((h, k) => {
        wv.set(Wv.subarray(h * dh * C, (h + 1) * dh * C), k * dh * C); // v_proj rows h·dh … (h+1)·dh − 1
        if (raw) bvm.set(bv.subarray(h * dh, (h + 1) * dh), k * dh);
        wo.set(woAll.subarray(h * d * dh, (h + 1) * d * dh), k * d * dh);
      });
      const boH = new Float32Array(d);
      if (raw) for (let j = 0; j < d; j++) boH[j] = bo[j] / H;
      const subset = !heads.every((h, k) => h === k) || m !== H;
      headSession = await ort.InferenceSession.create(headGraph(H, C, d, dh, m, subset, raw), sessionOptions());
      headFeeds.Wv = new ort.Tensor("float32", wv, [m, dh, C]);
      headFeeds.WoT = new ort.Tensor("float32", wo, [m, d, dh]);
      if (subset) headFeeds.heads = i64(heads);
      if (raw) {
        headFeeds.bv = new ort.Tensor("float32", bvm, [m, dh, 1]);
        headFeeds.bo = new ort.Tensor("float32", boH, [1, d, 1]);
      } else {
        const meanH = new Float32Array(m * C); // s̄ per head, m×C×1
        heads.forEach((h, k) => meanH.set(mean.subarray(h * C, (h + 1) * C), k * C));
        headFeeds.mean = new ort.Tensor("float32", meanH, [m, C, 1]);
      }
    }
    return new UnitNormsOrt(neuronSession, headSession, neuronFeeds, headFeeds, H, C, neurons, heads);
  }

  /** Norms of R images (s: R×H×C): neuron (neurons.length × R) and head (heads.length × R), unit-major. */
  async run(s: Float32Array, R: number): Promise<{ neuron: Float32Array; head: Float32Array }> {
    if (s.length !== R * this.H * this.C) {
      throw new ClipNadError(`unit norms: s has ${s.length} values, expected R×H×C = ${R}×${this.H}×${this.C}`);
    }
    const S = new ort.Tensor("float32", s, [R, this.H, this.C]);
    const neuron = this.neuronSession
      ? new Float32Array((await this.neuronSession.run({ ...this.neuronFeeds, S })).neuron.data as Float32Array)
      : new Float32Array(0);
    const head = this.headSession
      ? new Float32Array((await this.headSession.run({ ...this.headFeeds, S })).head.data as Float32Array)
      : new Float32Array(0);
    return { neuron, head };
  }

  async release(): Promise<void> {
    await this.neuronSession?.release();
    await this.headSession?.release();
  }
}
