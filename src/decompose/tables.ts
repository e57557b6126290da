import * as ort from "onnxruntime-node";
import { DataType, GraphBuilder } from "../onnx";
import { sessionOptions } from "../clip/session";
import { AttentionPoolWeights } from "./weights";
import { HeadGram, NeuronGram, headGram } from "./directions";

/**
 * The weight-only tables of the decomposition, computed with onnxruntime's GEMM (the JS loops cost C·C·d + C·H²·d,
 * 7 + 11 GFLOP for RN50x16: tens of seconds; here a second or two):
 *   w^{n,h} = W_O^h W_V^h[:, n]        pair directions, H×C×d (only when asked: 453 MB for RN50x16)
 *   |w^{n,h}|                          H×C
 *   G^n[h][h'] = w^{n,h}·w^{n,h'}      per-neuron Gram, C×H×H (centred neuron norms, neuron SVD)
 *   W_O^hᵀ W_O^h                       per-head Gram, H×dh×dh (centred head norms)
 * Neurons go through in blocks, so without `directions` only an H×d×block slab of w ever exists.
 * Accumulation is float32 (GEMM); deterministic for a given machine and block size.
 */
export interface PairTables {
  wNorms: Float32Array;
  neuronGram: NeuronGram;
  headGram: HeadGram;
  /** H×C×d, when `directions` was asked for. */
  w?: Float32Array;
}

const BLOCK = 256;

function tablesGraph(H: number, d: number, dh: number): Uint8Array {
  const g = new GraphBuilder("clip_nad_pair_tables");
  const wo = g.input("WoT", DataType.FLOAT, [H, d, dh]); // W_O^h, per head d×dh
  const wv = g.input("Wv", DataType.FLOAT, [H, dh, "n"]); // W_V^h[:, block]
  const wT = g.node("MatMul", [wo, wv]); // H×d×n: w^{n,h} as columns
  const sq = g.node("ReduceSumSquare", [wT], { axes: [1], keepdims: 0 });
  g.node("Sqrt", [sq], {}, "wNorms"); // H×n
  g.node("Transpose", [wT], { perm: [0, 2, 1] }, "w"); // H×n×d
  const a = g.node("Transpose", [wT], { perm: [2, 0, 1] }); // n×H×d
  const b = g.node("Transpose", [wT], { perm: [2, 1, 0] }); // n×d×H
  g.node("MatMul", [a, b], {}, "gram"); // n×H×H
  g.output("wNorms");
  g.output("w");
  g.output("gram");
  return g.toBytes();
}

/** W_O^h as H×d×dh (c_proj columns of head h, transposed per head). */
export function outputProjectionByHead(apw: AttentionPoolWeights): Float32Array {
  const { C, H, d, dh, Wo } = apw;
  const woT = new Float32Array(H * d * dh);
  for (let h = 0; h < H; h++) for (let j = 0; j < d; j++) for (let k = 0; k < dh; k++) woT[(h * d + j) * dh + k] = Wo[j * C + h * dh + k];
  return woT;
}

export async function pairTables(apw: AttentionPoolWeights, opts: { directions?: boolean } = {}): Promise<PairTables> {
  const { C, H, d, dh, Wv } = apw;
  const session = await ort.InferenceSession.create(tablesGraph(H, d, dh), sessionOptions());
  try {
    const woTensor = new ort.Tensor("float32", outputProjectionByHead(apw), [H, d, dh]);
    const wNorms = new Float32Array(H * C);
    const gram = new Float64Array(C * H * H);
    const w = opts.directions ? new Float32Array(H * C * d) : undefined;
    for (let n0 = 0; n0 < C; n0 += BLOCK) {
      const nb = Math.min(BLOCK, C - n0);
      const wv = new Float32Array(H * dh * nb);
      for (let r = 0; r < H * dh; r++) wv.set(Wv.subarray(r * C + n0, r * C + n0 + nb), r * nb);
      const fetches = w ? undefined : ["wNorms", "gram"];
      const feeds = { WoT: woTensor, Wv: new ort.Tensor("float32", wv, [H, dh, nb]) };
      const out = fetches ? await session.run(feeds, fetches) : await session.run(feeds);
      const wn = out.wNorms.data as Float32Array;
      for (let h = 0; h < H; h++) wNorms.set(wn.subarray(h * nb, (h + 1) * nb), h * C + n0);
      gram.set(out.gram.data as Float32Array, n0 * H * H);
      if (w) {
        const block = out.w.data as Float32Array; // H×nb×d
        for (let h = 0; h < H; h++) w.set(block.subarray(h * nb * d, (h + 1) * nb * d), (h * C + n0) * d);
      }
    }
    return { wNorms, neuronGram: { H, C, data: gram }, headGram: headGram(apw), w };
  } finally {
    await session.release();
  }
}
