import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { inferConfig } from "../src/clip/config";
import {
  Decomposition,
  ImageDecomposition,
  attentionPoolWeights,
  coefficientsFromAttention,
  coefficientsToEmbedding,
  headTokenContributions,
  neuronTokenContributions,
  poolTokens,
} from "../src/decompose";
import { readSafetensors } from "../src/weights/safetensors";
import { neuronGram, pairDirections, relErr } from "./decompose-reference";

/** Oracle fixtures (tools/oracle, PyTorch float64 explicit per-pair tensor r0 for image 0). */
const dir = path.join(__dirname, "fixtures", "tiny");
const ck = readSafetensors(path.join(dir, "weights.safetensors"));
const io = readSafetensors(path.join(dir, "io.safetensors")).tensors;
const cfg = inferConfig(ck.tensors, ck.path, ck.metadata);
const apw = attentionPoolWeights(ck.tensors, cfg, ck.path);
let dec: Decomposition;
beforeAll(async () => {
  dec = await Decomposition.build(apw);
});
const { C, H, d, K } = apw;
const get = (k: string) => {
  const t = io.get(k);
  if (!t) throw new Error(`io.safetensors lacks ${k}`);
  return t;
};
const B = get("embedding").shape[0];
const image = (b: number) => ({
  embedding: get("embedding").data.subarray(b * d, (b + 1) * d),
  s: get("s").data.subarray(b * H * C, (b + 1) * H * C),
  a: get("a").data.subarray(b * H * (K + 1), (b + 1) * H * (K + 1)),
  Z: get("Z").data.subarray(b * C * K, (b + 1) * C * K),
  x: get("x").data.subarray(b * (K + 1) * C, (b + 1) * (K + 1) * C),
});

describe("decomposition vs the PyTorch oracle (test/fixtures/tiny)", () => {
  it("fixture shapes agree with the config", () => {
    expect(get("r0").shape).toEqual([H, C, d]);
    expect(get("s").shape).toEqual([B, H, C]);
    expect(get("a").shape).toEqual([B, H, K + 1]);
  });

  it("the onnxruntime tables equal the float64 reference on the fixture weights", () => {
    const wRef = pairDirections(apw);
    // float32 GEMM over dh terms, then float32 Gram over d terms: a few float32 ulp
    expect(relErr(dec.w, wRef)).toBeLessThan(1e-6);
    expect(relErr(dec.neuronGram.data, neuronGram(wRef, H, C, d).data)).toBeLessThan(1e-5);
  });

  it("r^{n,h} of image 0 equals the oracle's explicit per-pair tensor (≤ 1e-5 relative)", () => {
    const img = new ImageDecomposition(dec, image(0));
    const r0 = get("r0").data;
    const r = new Float32Array(H * C * d);
    for (let h = 0; h < H; h++) for (let n = 0; n < C; n++) r.set(img.pair({ neuron: n, head: h }), (h * C + n) * d);
    expect(relErr(r, r0)).toBeLessThan(1e-5);
    // per pair too, against the size of that pair's contribution
    let worst = 0;
    for (let p = 0; p < H * C; p++) worst = Math.max(worst, relErr(r.subarray(p * d, (p + 1) * d), r0.subarray(p * d, (p + 1) * d)));
    expect(worst).toBeLessThan(1e-4);
  });

  for (let b = 0; b < 2; b++) {
    it(`image ${b}: tokens, s, and every family of contributions sum to the oracle embedding`, () => {
      const im = image(b);
      const img = new ImageDecomposition(dec, im);
      expect(relErr(poolTokens(apw, im.Z), im.x)).toBeLessThan(1e-5);
      expect(relErr(coefficientsFromAttention(apw, im.a, im.Z), im.s)).toBeLessThan(1e-5);
      const pairs = new Float64Array(d);
      const heads = new Float64Array(d);
      const neurons = new Float64Array(d);
      for (let h = 0; h < H; h++) {
        for (let n = 0; n < C; n++) img.pair({ neuron: n, head: h }).forEach((v, j) => (pairs[j] += v));
        img.head(h).forEach((v, j) => (heads[j] += v));
      }
      for (let n = 0; n < C; n++) img.neuron(n).forEach((v, j) => (neurons[j] += v));
      const ht = new Float64Array(d);
      headTokenContributions(apw, im.a, im.Z).forEach((v, q) => (ht[q % d] += v));
      const nt = new Float64Array(d);
      neuronTokenContributions(apw, im.a, im.Z, dec.w).forEach((v, q) => (nt[q % d] += v));
      for (const sum of [pairs, heads, neurons, ht, nt, coefficientsToEmbedding(apw, im.s, dec.bias)]) {
        expect(relErr(sum, im.embedding)).toBeLessThan(1e-5);
      }
    });
  }
});
