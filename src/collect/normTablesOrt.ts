import * as ort from "onnxruntime-node";
import { AttentionPoolWeights, HeadGram, NeuronGram, headGram } from "../decompose";
import { DataType, GraphBuilder } from "../onnx";
import { sessionOptions } from "../clip/session";

/**
 * The weight-only tables behind the centred norms — |w^{n,h}| (H×C) and the per-neuron Gram
 * G^n[h][h'] = w^{n,h}·w^{n,h'} (C×H×H) — computed with onnxruntime's GEMM instead of JS loops.
 * Same math as src/decompose `pairDirections` + `pairDirectionNorms` + `neuronGram` (cost C·C·d + C·H²·d,
 * 4.3 + 2.1 GFLOP for RN50): in JS that costs more than a 1,000-image collection's bookkeeping, here about a
 * second. Neurons are processed in blocks so the H×d×block slab of w stays small (never all of H×C×d).
 * Accumulation is float32 (GEMM) instead of float64; the result is deterministic for a given machine.
 */
export interface FastNormTables { wNorms: Float32Array; neuronGram: NeuronGram; headGram: HeadGram }

const BLOCK = 256;

function tablesGraph(H: number, d: number, dh: number): Uint8Array {
  const g = new GraphBuilder("clip_nad_norm_tables");
  const wo = g.input("WoT", DataType.FLOAT, [H, d, dh]); // W_O^h, per head d×dh
  const wv = g.input("Wv", DataType.FLOAT, [H, dh, "n"]); // W_V^h[:, block]
  const wT = g.node("MatMul", [wo, wv]); // H×d×n: w^{n,h} as columns
  const sq = g.node("ReduceSumSquare", [wT], { axes: [1], keepdims: 0 });
  g.node("Sqrt", [sq], {}, "wNorms"); // H×n
  const a = g.node("Transpose", [wT], { perm: [2, 0, 1] }); // n×H×d
  const b = g.node("Transpose", [wT], { perm: [2, 1, 0] }); // n×d×H
  g.node("MatMul", [a, b], {}, "gram"); // n×H×H
  g.output("wNorms");
  g.output("gram");
  return g.toBytes();
}

export async function normTablesOrt(apw: AttentionPoolWeights): Promise<FastNormTables> {
  const { C, H, d, dh, Wv, Wo } = apw;
  const session = await ort.InferenceSession.create(tablesGraph(H, d, dh), sessionOptions());
  try {
    const woT = new Float32Array(H * d * dh);
    for (let h = 0; h < H; h++) for (let j = 0; j < d; j++) for (let k = 0; k < dh; k++) woT[(h * d + j) * dh + k] = Wo[j * C + h * dh + k];
    const woTensor = new ort.Tensor("float32", woT, [H, d, dh]);
    const wNorms = new Float32Array(H * C);
    const gram = new Float64Array(C * H * H);
    for (let n0 = 0; n0 < C; n0 += BLOCK) {
      const nb = Math.min(BLOCK, C - n0);
      const wv = new Float32Array(H * dh * nb);
      for (let r = 0; r < H * dh; r++) wv.set(Wv.subarray(r * C + n0, r * C + n0 + nb), r * nb);
      const out = await session.run({ WoT: woTensor, Wv: new ort.Tensor("float32", wv, [H, dh, nb]) });
      const wn = out.wNorms.data as Float32Array;
      for (let h = 0; h < H; h++) wNorms.set(wn.subarray(h * nb, (h + 1) * nb), h * C + n0);
      gram.set(out.gram.data as Float32Array, n0 * H * H);
    }
    return { wNorms, neuronGram: { H, C, data: gram }, headGram: headGram(apw) };
  } finally {
    await session.release();
  }
}
