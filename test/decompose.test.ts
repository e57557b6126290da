import { beforeAll, describe, expect, it } from "vitest";
import {
  Decomposition,
  ImageDecomposition,
  attentionPoolWeights,
  centredHeadNorms,
  centredNeuronNorms,
  centredPairNorms,
  coefficientsFromAttention,
  coefficientsToEmbedding,
  headGram,
  headTokenContributions,
  neuronTokenContributions,
  pairTextTables,
  projectHeads,
  projectNeurons,
  projectPairs,
} from "../src/decompose";
import { ClipNadError } from "../src/errors";
import {
  gaussian, neuronGram, pairDirectionNorms, pairDirections, poolConfig, poolStateDict, randomFeatures, randomPool,
  referenceForward, relErr, rng,
} from "./decompose-reference";

const pool = randomPool(1234);
const sd = poolStateDict(pool);
const cfg = poolConfig(pool);
const apw = attentionPoolWeights(sd, cfg, "ref.safetensors");
const { C, H, d, K } = apw;
const fwd = referenceForward(pool, randomFeatures(pool, 99));
let dec: Decomposition;
let img: ImageDecomposition;

beforeAll(async () => {
  dec = await Decomposition.build(apw);
  img = new ImageDecomposition(dec, fwd);
});

const sumInto = (acc: Float64Array, v: ArrayLike<number>, off = 0) => {
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
    for (let h = 0; h < H; h++) for (let n = 0; n < C; n++) sumInto(acc, img.pair({ neuron: n, head: h }));
    expect(relErr(acc, fwd.embedding)).toBeLessThan(1e-5);
  });

  it("Σ_h r^h = embedding and Σ_n r^n = embedding", () => {
    const byHead = new Float64Array(d);
    for (let h = 0; h < H; h++) sumInto(byHead, img.head(h));
    const byNeuron = new Float64Array(d);
    for (let n = 0; n < C; n++) sumInto(byNeuron, img.neuron(n));
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
      expect(relErr(perHead, img.head(h))).toBeLessThan(1e-5);
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
      expect(relErr(per, img.neuron(n))).toBeLessThan(1e-5);
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
      for (let h = 0; h < H; h++) for (let n = 0; n < C; n++) wantP[h * C + n] = dot(img.pair({ neuron: n, head: h }));
      expect(relErr(pp, wantP)).toBeLessThan(1e-5);
      expect(relErr(pn, Array.from({ length: C }, (_, n) => dot(img.neuron(n))))).toBeLessThan(1e-5);
      expect(relErr(ph, Array.from({ length: H }, (_, h) => dot(img.head(h))))).toBeLessThan(1e-5);
    }
  });

  it("centred norms equal norms of materialised centred contributions", () => {
    const other = new ImageDecomposition(dec, referenceForward(pool, randomFeatures(pool, 7)));
    const delta = Float32Array.from(fwd.s, (v, i) => v - other.s[i]);
    const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));
    const sub = (x: Float32Array, y: Float32Array) => Float32Array.from(x, (v, j) => v - y[j]);
    const pn = centredPairNorms(delta, dec.wNorms);
    const nn = centredNeuronNorms(delta, dec.neuronGram);
    const hn = centredHeadNorms(delta, apw, dec.headGram);
    const pairOf = (p: number) => ({ neuron: p % C, head: Math.floor(p / C) });
    const wantP = Array.from({ length: H * C }, (_, p) => norm(sub(img.pair(pairOf(p)), other.pair(pairOf(p)))));
    const wantN = Array.from({ length: C }, (_, n) => norm(sub(img.neuron(n), other.neuron(n))));
    const wantH = Array.from({ length: H }, (_, h) => norm(sub(img.head(h), other.head(h))));
    expect(relErr(pn, wantP)).toBeLessThan(1e-5);
    expect(relErr(nn, wantN)).toBeLessThan(1e-4);
    expect(relErr(hn, wantH)).toBeLessThan(1e-4);
  });

  it("head dims not divisible by 4 (C=96, H=16, dh=6): pairs sum to the embedding, Gram matches", async () => {
    const p2 = randomPool(77, 96, 16, 8, 4);
    const apw2 = attentionPoolWeights(poolStateDict(p2), poolConfig(p2));
    const dec2 = await Decomposition.build(apw2);
    const f2 = referenceForward(p2, randomFeatures(p2, 3));
    const img2 = new ImageDecomposition(dec2, f2);
    const acc = new Float64Array(8);
    for (let h = 0; h < 16; h++) for (let n = 0; n < 96; n++) sumInto(acc, img2.pair({ neuron: n, head: h }));
    expect(relErr(acc, f2.embedding)).toBeLessThan(1e-5);
    const delta = Float32Array.from(f2.s, (v, i) => (i % 5 === 0 ? v : 0));
    const wRef = pairDirections(p2);
    const want = Array.from({ length: 96 }, (_, n) => {
      const v = new Float64Array(8);
      for (let h = 0; h < 16; h++) for (let j = 0; j < 8; j++) v[j] += delta[h * 96 + n] * wRef[(h * 96 + n) * 8 + j];
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

/** Indices sorted by the tie rule: higher value first, equal values → lower index first; NaN never ranks. */
const rankOrder = (v: ArrayLike<number>) =>
  Array.from({ length: v.length }, (_, i) => i).filter((i) => !Number.isNaN(v[i])).sort((i, j) => v[j] - v[i] || i - j);

describe("weight-only tables (onnxruntime, float32) against the float64 reference", () => {
  // Float32 GEMM over dh = 16 (w) and d = 16 (Gram) terms: a few ulp of float32 (6e-8) per element; 1e-6 leaves margin.
  it("w, |w| and the neuron Gram equal the reference; direction() is the pair's row of w", () => {
    const wRef = pairDirections(pool);
    expect(dec.w.length).toBe(H * C * d);
    expect(relErr(dec.w, wRef)).toBeLessThan(1e-6);
    expect(relErr(dec.wNorms, pairDirectionNorms(wRef, H, C, d))).toBeLessThan(1e-6);
    expect(relErr(dec.neuronGram.data, neuronGram(wRef, H, C, d).data)).toBeLessThan(1e-6);
    expect([dec.neuronGram.H, dec.neuronGram.C]).toEqual([H, C]);
    const p = 2 * C + 37;
    expect(Array.from(dec.direction({ neuron: 37, head: 2 }))).toEqual(Array.from(dec.w.subarray(p * d, (p + 1) * d)));
    expect(() => dec.direction({ neuron: C, head: 0 })).toThrow(ClipNadError);
  });

  it("the head Gram is W_O^hᵀ W_O^h", () => {
    const dh = C / H;
    const want = new Float64Array(H * dh * dh);
    for (let h = 0; h < H; h++) for (let a = 0; a < dh; a++) for (let b = 0; b < dh; b++) {
      for (let j = 0; j < d; j++) want[(h * dh + a) * dh + b] += pool.Wo[j * C + h * dh + a] * pool.Wo[j * C + h * dh + b];
    }
    expect(relErr(dec.headGram.data, want)).toBeLessThan(1e-6);
    expect(relErr(headGram(apw).data, want)).toBeLessThan(1e-6);
  });

  it("more neurons than one GEMM block (C=320): every block lands in place", async () => {
    const p3 = randomPool(5, 320, 4, 8, 4);
    const dec3 = await Decomposition.build(attentionPoolWeights(poolStateDict(p3), poolConfig(p3)));
    const wRef = pairDirections(p3);
    expect(relErr(dec3.w, wRef)).toBeLessThan(1e-6);
    expect(relErr(dec3.wNorms, pairDirectionNorms(wRef, 4, 320, 8))).toBeLessThan(1e-6);
    expect(relErr(dec3.neuronGram.data, neuronGram(wRef, 4, 320, 8).data)).toBeLessThan(1e-6);
    // per neuron, not only overall: a misplaced block would leave some neurons wrong
    const ref = neuronGram(wRef, 4, 320, 8).data;
    for (const n of [0, 255, 256, 319]) {
      expect(relErr(dec3.neuronGram.data.subarray(n * 16, (n + 1) * 16), ref.subarray(n * 16, (n + 1) * 16))).toBeLessThan(1e-5);
    }
  });

  it("textTables: w·t and c·t of the reference w and c", () => {
    const g = gaussian(rng(11));
    const texts = Float32Array.from({ length: 3 * d }, () => g());
    const wRef = pairDirections(pool);
    const tab = dec.textTables(texts);
    const want = new Float64Array(3 * H * C);
    for (let t = 0; t < 3; t++) for (let p = 0; p < H * C; p++) {
      for (let j = 0; j < d; j++) want[t * H * C + p] += wRef[p * d + j] * texts[t * d + j];
    }
    expect(relErr(tab.wDotT, want)).toBeLessThan(1e-5);
    const cWant = new Float64Array(3 * H);
    for (let t = 0; t < 3; t++) for (let h = 0; h < H; h++) {
      for (let j = 0; j < d; j++) cWant[t * H + h] += dec.c[h * d + j] * texts[t * d + j];
    }
    expect(relErr(tab.cDotT, cWant)).toBeLessThan(1e-6);
    expect(() => dec.textTables(new Float32Array(d + 1))).toThrow(ClipNadError);
    expect(() => dec.textTables(Float32Array.from({ length: d }, (_, j) => (j === 3 ? NaN : 1)))).toThrow(ClipNadError);
  });

  it("pairSimilarity is cos(w^{n,h}, t); rankPairs orders by score, ties → lower h·C + n, NaN never ranks", () => {
    const g = gaussian(rng(12));
    const t = Float32Array.from({ length: d }, () => g());
    const wRef = pairDirections(pool);
    const tn = Math.hypot(...t);
    const want = Array.from({ length: H * C }, (_, p) => {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += wRef[p * d + j] * t[j];
      return dot / (Math.hypot(...wRef.subarray(p * d, (p + 1) * d)) * tn);
    });
    expect(relErr(dec.pairSimilarity(t), want)).toBeLessThan(1e-5);
    expect(() => dec.pairSimilarity(new Float32Array(2 * d))).toThrow(ClipNadError);

    const scores = Float32Array.from({ length: H * C }, (_, p) => (p % 13 === 0 ? NaN : (p * 7) % 5));
    const ranked = dec.rankPairs(scores, 20);
    const order = rankOrder(scores).slice(0, 20);
    expect(ranked).toEqual(order.map((p) => ({ neuron: p % C, head: Math.floor(p / C), score: scores[p] })));
    expect(dec.rankPairs(scores, 10 * H * C).length).toBe(rankOrder(scores).length);
    expect(() => dec.rankPairs(new Float32Array(3), 1)).toThrow(ClipNadError);
  });
});

describe("ImageDecomposition (one image of the reference pool)", () => {
  it("checks the sizes of its internals", () => {
    expect(() => new ImageDecomposition(dec, { ...fwd, s: new Float32Array(H * C - 1) })).toThrow(/s has/);
    expect(() => new ImageDecomposition(dec, { ...fwd, Z: new Float32Array(3) })).toThrow(ClipNadError);
  });

  it("units are validated by name: out-of-range or non-integer neurons and heads are refused", () => {
    expect(() => img.pair({ neuron: C, head: 0 })).toThrow(/neuron/);
    expect(() => img.pair({ neuron: 0, head: H })).toThrow(/head/);
    expect(() => img.pair({ neuron: 1.5, head: 0 })).toThrow(ClipNadError);
    expect(() => img.neuron(-1)).toThrow(ClipNadError);
    expect(() => img.head(H)).toThrow(ClipNadError);
    expect(() => img.headTokens(-1)).toThrow(ClipNadError);
    expect(() => img.neuronTokens([0, C])).toThrow(ClipNadError);
  });

  it("pair(p) = s^{n,h} w^{n,h} + c^h with the reference w", () => {
    const wRef = pairDirections(pool);
    for (const [n, h] of [[0, 0], [37, 2], [C - 1, H - 1]]) {
      const p = h * C + n;
      const want = Array.from({ length: d }, (_, j) => fwd.s[p] * wRef[p * d + j] + dec.c[h * d + j]);
      expect(relErr(img.pair({ neuron: n, head: h }), want)).toBeLessThan(1e-5);
    }
  });

  it("headTokens(h) and neuronTokens(n | n[]) are slices of the token tables; maxBytes bounds neuronTokens", () => {
    const rt = headTokenContributions(apw, fwd.a, fwd.Z);
    const T = (K + 1) * d;
    for (let h = 0; h < H; h++) expect(Array.from(img.headTokens(h))).toEqual(Array.from(rt.subarray(h * T, (h + 1) * T)));
    const all = neuronTokenContributions(apw, fwd.a, fwd.Z, dec.w);
    const some = img.neuronTokens([17, 5]);
    expect(some.length).toBe(2 * T);
    expect(Array.from(some.subarray(0, T))).toEqual(Array.from(all.subarray(17 * T, 18 * T)));
    expect(Array.from(some.subarray(T))).toEqual(Array.from(all.subarray(5 * T, 6 * T)));
    expect(Array.from(img.neuronTokens(5))).toEqual(Array.from(all.subarray(5 * T, 6 * T)));
    expect(() => img.neuronTokens([1, 2], { maxBytes: T * 4 })).toThrow(/maxBytes/);
    expect(img.neuronTokens([1], { maxBytes: T * 4 }).length).toBe(T);
  });

  it("projections: ⟨r^{n,h}, ê⟩ by default, ⟨r^{n,h}(s) − r^{n,h}(s̄), e⟩ with mean coefficients; topPairs ranks them", () => {
    const wRef = pairDirections(pool);
    const en = Math.hypot(...fwd.embedding);
    const ehat = Float32Array.from(fwd.embedding, (x) => x / en);
    const dot = (v: ArrayLike<number>, e: ArrayLike<number>) => Array.from(v).reduce((a, x, j) => a + x * e[j], 0);
    const pairOf = (p: number) => ({ neuron: p % C, head: Math.floor(p / C) });
    const raw = img.projections();
    expect(relErr(raw, Array.from({ length: H * C }, (_, p) => dot(img.pair(pairOf(p)), ehat)))).toBeLessThan(1e-5);
    // Σ of the raw projections is |M(I)| (the pairs sum to the embedding)
    expect(raw.reduce((a, x) => a + x, 0)).toBeCloseTo(en, 4);

    const mean = referenceForward(pool, randomFeatures(pool, 8)).s;
    const e = Float32Array.from({ length: d }, (_, j) => (j % 3) - 1);
    const centred = img.projections({ direction: e, meanCoefficients: mean });
    const want = Array.from({ length: H * C }, (_, p) => {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += (fwd.s[p] - mean[p]) * wRef[p * d + j] * e[j];
      return acc;
    });
    expect(relErr(centred, want)).toBeLessThan(1e-5);
    expect(() => img.projections({ direction: new Float32Array(d + 1) })).toThrow(ClipNadError);

    const top = img.topPairs(7);
    expect(top.map((r) => r.neuron + r.head * C)).toEqual(rankOrder(raw).slice(0, 7));
    expect(top[0].score).toBe(raw[top[0].head * C + top[0].neuron]);
  });
});
