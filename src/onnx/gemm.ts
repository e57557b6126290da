import * as ort from "onnxruntime-node";
import { sessionOptions } from "../clip/session";
import { DataType, GraphBuilder } from "./graph";

export type GemmPrecision = "float32" | "float64";

/**
 * Y = A·Bᵀ on onnxruntime (MLAS GEMM, float32 or float64), for products the JS loops would take minutes over:
 * Gram matrices D·Dᵀ, correlations X·Dᵀ, per-head projections. A is r×k, B is c×k (both row-major), Y is r×c.
 * With `transB: false`, Y = A·B for B k×c as it is (no transposed copy of a large B). Deterministic for a given
 * machine and shapes.
 */
export class OrtGemm {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly precision: GemmPrecision,
    readonly transB: boolean,
  ) {}

  static async create(precision: GemmPrecision = "float32", threads?: number, opts: { transB?: boolean } = {}) {
    const transB = opts.transB ?? true;
    const type = precision === "float64" ? DataType.DOUBLE : DataType.FLOAT;
    const g = new GraphBuilder(transB ? "clip_nad_gemm_abt" : "clip_nad_gemm_ab");
    const a = g.input("A", type, ["r", "k"]);
    const b = g.input("B", type, transB ? ["c", "k"] : ["k", "c"]);
    g.node("Gemm", [a, b], { transB: transB ? 1 : 0 }, "Y");
    g.output("Y", type);
    const session = await ort.InferenceSession.create(g.toBytes(), sessionOptions(threads));
    return new OrtGemm(session, precision, transB);
  }

  /**
   * A (rows×k) · Bᵀ (B: cols×k) → rows×cols, or A · B (B: k×cols) with `transB: false`, in this GEMM's precision
   * (inputs are converted when needed).
   */
  async run(
    A: Float32Array | Float64Array,
    rows: number,
    B: Float32Array | Float64Array,
    cols: number,
    k: number,
  ): Promise<Float32Array | Float64Array> {
    const f64 = this.precision === "float64";
    const as = (x: Float32Array | Float64Array) =>
      f64
        ? x instanceof Float64Array
          ? x
          : Float64Array.from(x)
        : x instanceof Float32Array
          ? x
          : Float32Array.from(x);
    const type = f64 ? "float64" : "float32";
    const out = await this.session.run({
      A: new ort.Tensor(type, as(A.subarray(0, rows * k)), [rows, k]),
      B: new ort.Tensor(type, as(B.subarray(0, cols * k)), this.transB ? [cols, k] : [k, cols]),
    });
    return out.Y.data as Float32Array | Float64Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
