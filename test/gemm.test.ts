// OrtGemm against the naive product, in both layouts (A·Bᵀ with B c×k, and A·B with B k×c as given).
import { describe, expect, it } from "vitest";
import { OrtGemm } from "../src/onnx/gemm";
import { mulberry32 } from "../src/toyworld/random";

describe("OrtGemm", () => {
  it("A·Bᵀ and (transB: false) A·B match the naive product", async () => {
    const r = mulberry32(7);
    const [rows, k, cols] = [5, 7, 3];
    const A = Float32Array.from({ length: rows * k }, () => r() - 0.5);
    const B = Float32Array.from({ length: k * cols }, () => r() - 0.5); // k×cols
    const Bt = new Float32Array(cols * k); // cols×k
    for (let i = 0; i < k; i++) for (let j = 0; j < cols; j++) Bt[j * k + i] = B[i * cols + j];
    const naive = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) for (let t = 0; t < k; t++) naive[i * cols + j] += A[i * k + t] * B[t * cols + j];
    for (const [transB, b] of [[true, Bt], [false, B]] as const) {
      const gemm = await OrtGemm.create("float32", undefined, { transB });
      const y = await gemm.run(A, rows, b, cols, k);
      await gemm.release();
      expect(y.length).toBe(rows * cols);
      for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(naive[i], 5);
    }
  });
});
