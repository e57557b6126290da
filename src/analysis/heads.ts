import * as ort from "onnxruntime-node";
import { ClipNadError } from "../errors";
import { sessionOptions } from "../clip/session";
import { AttentionPoolWeights, headValueBias, outputProjectionByHead } from "../decompose";
import { DataType, GraphBuilder } from "../onnx";
import { CoefficientRows } from "./rows";

/**
 * Every attention-pool head's output over many images, from the coefficients s alone (never the r tensor):
 *   r^h(I) = Σ_n r^{n,h}(I) = W_O^h W_V^h s^h(I) + C·c^h,   C·c^h = W_O^h b_V^h + b_O/H
 * (ImageDecomposition.head for one image), as two batched GEMMs per chunk of images on onnxruntime.
 * Memory: the H×N×d float32 result (RN50x16, 1,000 images: 147 MB) + one chunk of s.
 */
function headsGraph(H: number, C: number, d: number, dh: number): Uint8Array {
  const g = new GraphBuilder("clip_nad_head_outputs");
  const S = g.input("S", DataType.FLOAT, ["B", H, C]);
  const wv = g.input("WvT", DataType.FLOAT, [H, C, dh]);
  const wo = g.input("WoTT", DataType.FLOAT, [H, dh, d]);
  const bias = g.input("bias", DataType.FLOAT, [H, 1, d]);
  const st = g.node("Transpose", [S], { perm: [1, 0, 2] }); // H×B×C
  const v = g.node("MatMul", [st, wv]); // H×B×dh
  const r = g.node("MatMul", [v, wo]); // H×B×d
  g.node("Add", [r, bias], {}, "R");
  g.output("R");
  return g.toBytes();
}

export interface HeadOutputOptions {
  /** Images per GEMM (default 64). */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
}

/** r^h(I) for every head and image: H×N×d float32 (head-major: [h][i][:]). */
export async function headOutputs(
  rows: CoefficientRows,
  apw: AttentionPoolWeights,
  opts: HeadOutputOptions = {},
): Promise<Float32Array> {
  const { H, C, d, dh, Wv, bo } = apw;
  if (rows.H !== H || rows.C !== C)
    throw new ClipNadError(`coefficients are ${rows.H}×${rows.C}, the attention pool ${H}×${C}`);
  const N = rows.N;
  const WvT = new Float32Array(H * C * dh);
  for (let h = 0; h < H; h++)
    for (let k = 0; k < dh; k++) for (let n = 0; n < C; n++) WvT[(h * C + n) * dh + k] = Wv[(h * dh + k) * C + n];
  const woT = outputProjectionByHead(apw); // H×d×dh
  const WoTT = new Float32Array(H * dh * d);
  for (let h = 0; h < H; h++)
    for (let j = 0; j < d; j++) for (let k = 0; k < dh; k++) WoTT[(h * dh + k) * d + j] = woT[(h * d + j) * dh + k];
  const vb = headValueBias(apw);
  const bias = new Float32Array(H * d);
  for (let h = 0; h < H; h++) for (let j = 0; j < d; j++) bias[h * d + j] = vb[h * d + j] + bo[j] / H;
  const session = await ort.InferenceSession.create(headsGraph(H, C, d, dh), sessionOptions());
  const out = new Float32Array(H * N * d);
  try {
    const fixed = {
      WvT: new ort.Tensor("float32", WvT, [H, C, dh]),
      WoTT: new ort.Tensor("float32", WoTT, [H, dh, d]),
      bias: new ort.Tensor("float32", bias, [H, 1, d]),
    };
    const B = Math.max(1, opts.chunk ?? 64);
    const S = new Float32Array(B * H * C);
    for (let start = 0; start < N; start += B) {
      const n = Math.min(B, N - start);
      for (let i = 0; i < n; i++) S.set(rows.row(start + i), i * H * C);
      const res = await session.run({ ...fixed, S: new ort.Tensor("float32", S.subarray(0, n * H * C), [n, H, C]) });
      const R = res.R.data as Float32Array; // H×n×d
      for (let h = 0; h < H; h++) out.set(R.subarray(h * n * d, (h + 1) * n * d), (h * N + start) * d);
      opts.onProgress?.(start + n, N);
    }
  } finally {
    await session.release();
  }
  return out;
}
