import { describe, expect, it } from "vitest";
import {
  attentionPoolWeights,
  centredHeadNorms,
  centredNeuronNorms,
  centredPairNorms,
  coefficientsFromAttention,
  coefficientsToEmbedding,
  headContribution,
  headTokenContributions,
  neuronContribution,
  neuronTokenContributions,
  pairContribution,
  pairTextTables,
  prepareDecomposition,
  projectHeads,
  projectNeurons,
  projectPairs,
} from "../src/decompose";
import { ClipNadError } from "../src/errors";
import { gaussian, poolConfig, poolStateDict, randomFeatures, randomPool, referenceForward, relErr, rng } from "./decompose-reference";

const pool = randomPool(1234);
const sd = poolStateDict(pool);
const cfg = poolConfig(pool);
const apw = attentionPoolWeights(sd, cfg, "ref.safetensors");
const dec = prepareDecomposition(apw);
const { C, H, d, K } = apw;
const fwd = referenceForward(pool, randomFeatures(pool, 99));

const sumInto = (acc: Float64Array, v: Float32Array, off = 0) => {
  for (let j = 0; j < acc.length; j++) acc[j] += v[off + j];
};

describe("decomposition identities (reference attention pool, C=64 H=4 d=16 K=9)", () => {
  it("reads the attention-pool weights with the right sizes", () => {
    expect([apw.C, apw.H, apw.d, apw.K, apw.dh]).toEqual([64, 4, 16, 9, 16]);
  });

  it("s from a and Z matches the reference forward", () => {
    expect(relErr(coefficientsFromAttention(apw, fwd.a, fwd.Z), fwd.s)).toBeLessThan(1e-6);
  });

  it("Σ_{n,h} r^{n,h} = embedding", () => {
    const acc = new Float64Array(d);
    for (let h = 0; h < H; h++) for (let n = 0; n < C; n++) sumInto(acc, pairContribution(fwd.s, dec.w, dec.c, h, n));
    expect(relErr(acc, fwd.embedding)).toBeLessThan(1e-5);
  });

  it("Σ_h r^h = embedding and Σ_n r^n = embedding", () => {
    const byHead = new Float64Array(d);
    for (let h = 0; h < H; h++) sumInto(byHead, headContribution(fwd.s, dec.w, dec.c, h));
    const byNeuron = new Float64Array(d);
    for (let n = 0; n < C; n++) sumInto(byNeuron, neuronContribution(fwd.s, dec.w, dec.c, n));
    expect(relErr(byHead, fwd.embedding)).toBeLessThan(1e-5);
    expect(relErr(byNeuron, fwd.embedding)).toBeLessThan(1e-5);
  });

  it("Σ_i r_i^h = r^h per head and Σ_{h,i} r_i^h = embedding", () => {
    const rt = headTokenContributions(apw, fwd.a, fwd.Z);
    expect(rt.length).toBe(H * (K + 1) * d);
    const all = new Float64Array(d);
    for (let h = 0; h < H; h++) {
      const perHead = new Float64Array(d);
      for (let i = 0; i <= K; i++) sumInto(perHead, rt, (h * (K + 1) + i) * d);
      expect(relErr(perHead, headContribution(fwd.s, dec.w, dec.c, h))).toBeLessThan(1e-5);
      sumInto(all, Float32Array.from(perHead));
    }
    expect(relErr(all, fwd.embedding)).toBeLessThan(1e-5);
  });

  it("Σ_i r_i^n = r^n per neuron and Σ_{n,i} r_i^n = embedding", () => {
    const rt = neuronTokenContributions(apw, fwd.a, fwd.Z, dec.w);
    const all = new Float64Array(d);
    for (let n = 0; n < C; n++) {
      const per = new Float64Array(d);
      for (let i = 0; i <= K; i++) sumInto(per, rt, (n * (K + 1) + i) * d);
      expect(relErr(per, neuronContribution(fwd.s, dec.w, dec.c, n))).toBeLessThan(1e-5);
      sumInto(all, Float32Array.from(per));
    }
    expect(relErr(all, fwd.embedding)).toBeLessThan(1e-5);
    const some = neuronTokenContributions(apw, fwd.a, fwd.Z, dec.w, [5, 17]);
    expect(relErr(some.subarray(0, (K + 1) * d), rt.subarray(5 * (K + 1) * d, 6 * (K + 1) * d))).toBeLessThan(1e-7);
  });

  it("coefficientsToEmbedding(s) = embedding (W_V-first path)", () => {
    expect(relErr(coefficientsToEmbedding(apw, fwd.s, dec.bias), fwd.embedding)).toBeLessThan(1e-5);
  });

  it("projections onto text directions equal dot products of materialised contributions", () => {
    const g = gaussian(rng(5));
    const texts = Float32Array.from({ length: 11 * d }, () => g()); // > one block of 8 texts
    const tab = pairTextTables(apw, texts, dec.c);
    expect(tab.T).toBe(11);
    for (let t = 0; t < 11; t++) {
      const tv = texts.subarray(t * d, (t + 1) * d);
      const wt = tab.wDotT.subarray(t * H * C, (t + 1) * H * C);
      const ct = tab.cDotT.subarray(t * H, (t + 1) * H);
      const pp = projectPairs(fwd.s, wt, ct);
      const pn = projectNeurons(fwd.s, wt, ct);
      const ph = projectHeads(fwd.s, wt, ct);
      const dot = (v: Float32Array) => v.reduce((acc, x, j) => acc + x * tv[j], 0);
      const wantP = new Float32Array(H * C);
      for (let h = 0; h < H; h++) for (let n = 0; n < C; n++) wantP[h * C + n] = dot(pairContribution(fwd.s, dec.w, dec.c, h, n));
      expect(relErr(pp, wantP)).toBeLessThan(1e-5);
      expect(relErr(pn, Array.from({ length: C }, (_, n) => dot(neuronContribution(fwd.s, dec.w, dec.c, n))))).toBeLessThan(1e-5);
      expect(relErr(ph, Array.from({ length: H }, (_, h) => dot(headContribution(fwd.s, dec.w, dec.c, h))))).toBeLessThan(1e-5);
    }
  });

  it("centred norms equal norms of materialised centred contributions", () => {
    const other = referenceForward(pool, randomFeatures(pool, 7));
    const delta = Float32Array.from(fwd.s, (v, i) => v - other.s[i]);
    const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));
    const sub = (x: Float32Array, y: Float32Array) => Float32Array.from(x, (v, j) => v - y[j]);
    const pn = centredPairNorms(delta, dec.wNorms);
    const nn = centredNeuronNorms(delta, dec.neuronGram);
    const hn = centredHeadNorms(delta, apw, dec.headGram);
    const wantP = Array.from({ length: H * C }, (_, p) =>
      norm(sub(pairContribution(fwd.s, dec.w, dec.c, Math.floor(p / C), p % C), pairContribution(other.s, dec.w, dec.c, Math.floor(p / C), p % C))));
    const wantN = Array.from({ length: C }, (_, n) => norm(sub(neuronContribution(fwd.s, dec.w, dec.c, n), neuronContribution(other.s, dec.w, dec.c, n))));
    const wantH = Array.from({ length: H }, (_, h) => norm(sub(headContribution(fwd.s, dec.w, dec.c, h), headContribution(other.s, dec.w, dec.c, h))));
    expect(relErr(pn, wantP)).toBeLessThan(1e-5);
    expect(relErr(nn, wantN)).toBeLessThan(1e-4);
    expect(relErr(hn, wantH)).toBeLessThan(1e-4);
  });

  it("head dims not divisible by 4 (C=96, H=16, dh=6): pairs sum to the embedding, Gram matches", () => {
    const p2 = randomPool(77, 96, 16, 8, 4);
    const apw2 = attentionPoolWeights(poolStateDict(p2), poolConfig(p2));
    const dec2 = prepareDecomposition(apw2);
    const f2 = referenceForward(p2, randomFeatures(p2, 3));
    const acc = new Float64Array(8);
    for (let h = 0; h < 16; h++) for (let n = 0; n < 96; n++) sumInto(acc, pairContribution(f2.s, dec2.w, dec2.c, h, n));
    expect(relErr(acc, f2.embedding)).toBeLessThan(1e-5);
    const delta = Float32Array.from(f2.s, (v, i) => (i % 5 === 0 ? v : 0));
    const want = Array.from({ length: 96 }, (_, n) => {
      const v = new Float64Array(8);
      for (let h = 0; h < 16; h++) for (let j = 0; j < 8; j++) v[j] += delta[h * 96 + n] * dec2.w[(h * 96 + n) * 8 + j];
      return Math.hypot(...v);
    });
    expect(relErr(centredNeuronNorms(delta, dec2.neuronGram), want)).toBeLessThan(1e-5);
  });

  it("bad weights throw ClipNadError naming the file and key", () => {
    const broken = new Map(sd);
    broken.delete("visual.attnpool.v_proj.bias");
    expect(() => attentionPoolWeights(broken, cfg, "bad.pt")).toThrow(ClipNadError);
    expect(() => attentionPoolWeights(broken, cfg, "bad.pt")).toThrow(/bad\.pt.*v_proj\.bias/);
    const wrong = new Map(sd);
    wrong.set("visual.attnpool.c_proj.bias", { shape: [3], data: new Float32Array(3), storedDtype: "float32" });
    expect(() => attentionPoolWeights(wrong, cfg, "bad.pt")).toThrow(/c_proj\.bias.*shape/);
    expect(() => headTokenContributions(apw, new Float32Array(3), fwd.Z)).toThrow(ClipNadError);
  });
});
