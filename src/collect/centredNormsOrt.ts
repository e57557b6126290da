import * as ort from "onnxruntime-node";
import { AttentionPoolWeights, NeuronGram } from "../decompose";
import { DataType, GraphBuilder, int64Tensor } from "../onnx";
import { sessionOptions } from "../clip/session";

/**
 * Centred neuron and head norms for a chunk of R images at once, on onnxruntime (batched GEMM), with δ = s − s̄:
 *   head h:   |W_O^h W_V^h δ^h|            (the src/decompose `centredHeadNorms` math, C·C + H·d·dh per image)
 *   neuron n: sqrt(δ_nᵀ G^n δ_n)           (`centredNeuronNorms`, G^n = per-neuron H×H Gram of w, C·H² per image)
 * In JS these two cost more per image than the RN50 forward pass's bookkeeping budget; here a few ms per chunk.
 * Float32 arithmetic; deterministic for a given machine and chunking (finalize always chunks the same way).
 */
function normsGraph(H: number, C: number, d: number, dh: number): Uint8Array {
  const g = new GraphBuilder("clip_nad_centred_norms");
  const S = g.input("S", DataType.FLOAT, ["R", H, C]);
  const mean = g.input("mean", DataType.FLOAT, [H, C]);
  const wv = g.input("Wv", DataType.FLOAT, [H, dh, C]);
  const wo = g.input("WoT", DataType.FLOAT, [H, d, dh]);
  const gram = g.input("G", DataType.FLOAT, [C, H, H]);
  const delta = g.node("Sub", [S, mean]); // R×H×C
  // heads: W_O^h (W_V^h δ^h)
  const dT = g.node("Transpose", [delta], { perm: [1, 2, 0] }); // H×C×R
  const v = g.node("MatMul", [wv, dT]); // H×dh×R
  const o = g.node("MatMul", [wo, v]); // H×d×R
  const hsq = g.node("ReduceSumSquare", [o], { axes: [1], keepdims: 0 }); // H×R
  g.node("Sqrt", [hsq], {}, "head");
  // neurons: δ_nᵀ G^n δ_n
  const dN = g.node("Transpose", [delta], { perm: [2, 0, 1] }); // C×R×H
  const q = g.node("MatMul", [dN, gram]); // C×R×H
  const prod = g.node("Mul", [q, dN]);
  const axes = g.initializer("axis2", int64Tensor([1], [2]));
  const nsq = g.node("ReduceSum", [prod, axes], { keepdims: 0 }); // C×R
  g.node("Sqrt", [g.node("Relu", [nsq])], {}, "neuron");
  g.output("head");
  g.output("neuron");
  return g.toBytes();
}

export class CentredNormsOrt {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly fixed: Record<string, ort.Tensor>,
    readonly H: number,
    readonly C: number,
  ) {}

  static async create(apw: AttentionPoolWeights, gram: NeuronGram, mean: Float32Array): Promise<CentredNormsOrt> {
    const { C, H, d, dh, Wv, Wo } = apw;
    const session = await ort.InferenceSession.create(normsGraph(H, C, d, dh), sessionOptions());
    const woT = new Float32Array(H * d * dh);
    for (let h = 0; h < H; h++) for (let j = 0; j < d; j++) for (let k = 0; k < dh; k++) woT[(h * d + j) * dh + k] = Wo[j * C + h * dh + k];
    const fixed = {
      mean: new ort.Tensor("float32", mean, [H, C]),
      Wv: new ort.Tensor("float32", Wv, [H, dh, C]), // v_proj rows h·dh+k: already H×dh×C in memory
      WoT: new ort.Tensor("float32", woT, [H, d, dh]),
      G: new ort.Tensor("float32", Float32Array.from(gram.data), [C, H, H]),
    };
    return new CentredNormsOrt(session, fixed, H, C);
  }

  /** Norms of R rows of s (R×H×C): head H×R and neuron C×R (unit-major). */
  async run(s: Float32Array, R: number): Promise<{ head: Float32Array; neuron: Float32Array }> {
    const out = await this.session.run({ ...this.fixed, S: new ort.Tensor("float32", s, [R, this.H, this.C]) });
    return { head: new Float32Array(out.head.data as Float32Array), neuron: new Float32Array(out.neuron.data as Float32Array) };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
