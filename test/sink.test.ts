// Attention sink and register neurons (paper.md §A.13) against first-principles recomputations of the attention
// pool (test/decompose-reference.ts) on small random weights.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/clip/model";
import { preprocessImages } from "../src/clip/preprocess";
import { writeToyDataset } from "../src/toyworld";
import { attentionPoolWeights } from "../src/decompose";
import {
  AttentionMap, RegisterDrops, RegisterScorer, zeroSinkAttention, zeroSinkEmbedding, zeroSinkEmbeddings,
} from "../src/analysis";
import { ClipNadError } from "../src/errors";
import {
  RefPool, poolConfig, poolStateDict, randomFeatures, randomPool, referenceForward,
} from "./decompose-reference";

/** Tokens x_0 = z̄ + p_0, x_i = z_i + p_i ((K+1) rows of C), float64. */
function tokens(p: RefPool, Z: ArrayLike<number>): number[][] {
  const { C, K } = p;
  return Array.from({ length: K + 1 }, (_, i) => Array.from({ length: C }, (_, n) => {
    let z = 0;
    if (i === 0) for (let k = 0; k < K; k++) z += Z[n * K + k] / K;
    else z = Z[n * K + i - 1];
    return z + p.pos[i * C + n];
  }));
}

/** The pool's output for a given (edited) attention a (H×(K+1)): W_O Σ_h Σ_i a_i^h (W_V x_i + b_V)^h + b_O. */
function poolOutput(p: RefPool, Z: ArrayLike<number>, a: ArrayLike<number>): Float64Array {
  const { C, H, d, K } = p;
  const dh = C / H;
  const x = tokens(p, Z);
  const heads = new Float64Array(C);
  for (let i = 0; i <= K; i++) {
    for (let m = 0; m < C; m++) {
      let v = p.bv[m];
      for (let n = 0; n < C; n++) v += p.Wv[m * C + n] * x[i][n];
      heads[m] += a[Math.floor(m / dh) * (K + 1) + i] * v;
    }
  }
  const out = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let acc = p.bo[j];
    for (let m = 0; m < C; m++) acc += p.Wo[j * C + m] * heads[m];
    out[j] = acc;
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Sharper logits than randomPool's defaults, so the softmax is far from uniform and the sink moves. */
function sharpPool(seed: number, C: number, H: number, d: number, K: number): RefPool {
  const p = randomPool(seed, C, H, d, K);
  for (let i = 0; i < p.Wq.length; i++) p.Wq[i] *= 3;
  for (let i = 0; i < p.Wk.length; i++) p.Wk[i] *= 3;
  for (let i = 0; i < p.bq.length; i++) p.bq[i] *= 5;
  return p;
}

describe("zero-sink ablation", () => {
  const p = randomPool(31, 48, 4, 12, 9);
  const apw = attentionPoolWeights(poolStateDict(p), poolConfig(p));
  const Zs = [1, 2, 3].map((s) => randomFeatures(p, 500 + s));

  it("zeroes the last token of every head, nothing else, without renormalising", () => {
    const T = p.K + 1;
    const a = referenceForward(p, Zs[0]).a;
    const z = zeroSinkAttention(a, p.H, T);
    for (let h = 0; h < p.H; h++) {
      for (let i = 0; i < T; i++) expect(z[h * T + i]).toBe(i === T - 1 ? 0 : a[h * T + i]);
    }
    expect(a[T - 1]).toBeGreaterThan(0); // the input is not modified
  });

  it("equals a naive recomputation of the pool output with the edited attention (value bias included)", () => {
    const T = p.K + 1;
    for (const Z of Zs) {
      const a = referenceForward(p, Z).a;
      const edited = Float32Array.from(a, (v, k) => (k % T === T - 1 ? 0 : v));
      const want = poolOutput(p, Z, edited);
      const got = zeroSinkEmbedding(apw, a, Z);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
      // and it is not the unmodified embedding: the ablation changes something
      expect(maxAbsDiff(got, referenceForward(p, Z).embedding)).toBeGreaterThan(1e-3);
    }
  });

  it("batched: row b equals the single-image result", () => {
    const T = p.K + 1;
    const fw = Zs.map((Z) => referenceForward(p, Z));
    const a = new Float32Array(3 * p.H * T);
    const Z = new Float32Array(3 * p.C * p.K);
    fw.forEach((f, b) => {
      a.set(f.a, b * p.H * T);
      Z.set(Zs[b], b * p.C * p.K);
    });
    const out = zeroSinkEmbeddings(apw, a, Z, 3);
    for (let b = 0; b < 3; b++) {
      expect(maxAbsDiff(out.subarray(b * p.d, (b + 1) * p.d), zeroSinkEmbedding(apw, fw[b].a, Zs[b]))).toBe(0);
    }
  });

  it("the attention map is the mean over heads and images", () => {
    const T = p.K + 1;
    const map = new AttentionMap(p.H, T);
    const as = Zs.map((Z) => referenceForward(p, Z).a);
    const batch = new Float32Array(2 * p.H * T);
    batch.set(as[0]);
    batch.set(as[1], p.H * T);
    map.add(batch, 2);
    map.add(as[2], 1);
    const mean = map.mean();
    for (let i = 0; i < T; i++) {
      let want = 0;
      for (const a of as) for (let h = 0; h < p.H; h++) want += a[h * T + i] / (3 * p.H);
      expect(mean[i]).toBeCloseTo(want, 10);
    }
    expect(mean.reduce((u, v) => u + v, 0)).toBeCloseTo(1, 6);
    expect(() => map.add(as[0], 2)).toThrow(ClipNadError);
  });
});

describe("register neurons: the rank-1 attention update", () => {
  const p = sharpPool(7, 64, 4, 16, 9);
  const apw = attentionPoolWeights(poolStateDict(p), poolConfig(p));
  const B = 3;
  const Zs = Array.from({ length: B }, (_, b) => randomFeatures(p, 900 + b));
  let scorer: RegisterScorer;

  beforeAll(async () => {
    scorer = await RegisterScorer.create(apw);
  });
  afterAll(async () => scorer?.release());

  /** Naive: zero row n of Z, run the whole reference forward, mean over heads of the attention to the last token. */
  function naiveLast(Z: Float32Array, n: number | null): number {
    const z = Z.slice();
    if (n !== null) z.fill(0, n * p.K, (n + 1) * p.K);
    const a = referenceForward(p, z).a;
    const T = p.K + 1;
    let m = 0;
    for (let h = 0; h < p.H; h++) m += a[h * T + T - 1] / p.H;
    return m;
  }

  it("baseline and every zeroed neuron match a full recomputation of the pooled attention", async () => {
    const Z = new Float32Array(B * p.C * p.K);
    Zs.forEach((z, b) => Z.set(z, b * p.C * p.K));
    const r = await scorer.attention(Z, B);
    let spread = 0;
    for (let b = 0; b < B; b++) {
      const base = naiveLast(Zs[b], null);
      expect(Math.abs(r.baseline[b] - base)).toBeLessThan(2e-6);
      for (let n = 0; n < p.C; n++) {
        const want = naiveLast(Zs[b], n);
        expect(Math.abs(r.zeroed[b * p.C + n] - want)).toBeLessThan(2e-6);
        spread = Math.max(spread, Math.abs(want - base));
      }
      // the stage-1 attention is the model's attention
      const T = p.H * (p.K + 1);
      expect(maxAbsDiff(r.attention.subarray(b * T, (b + 1) * T), referenceForward(p, Zs[b]).a)).toBeLessThan(2e-6);
    }
    expect(spread).toBeGreaterThan(1e-3); // zeroing neurons does move the sink's attention here
  });

  it("splits the neurons into blocks (7 neurons per block here) without changing the result", async () => {
    const T = p.K + 1;
    const small = await RegisterScorer.create(apw, { blockElements: B * p.H * T * 7 });
    try {
      const Z = new Float32Array(B * p.C * p.K);
      Zs.forEach((z, b) => Z.set(z, b * p.C * p.K));
      const blocked = await small.attention(Z, B);
      const whole = await scorer.attention(Z, B);
      expect(maxAbsDiff(blocked.zeroed, whole.zeroed)).toBeLessThan(1e-6);
      const one = await small.attention(Zs[1], 1); // another batch size, other blocks
      expect(maxAbsDiff(one.zeroed, whole.zeroed.subarray(p.C, 2 * p.C))).toBeLessThan(1e-6);
    } finally {
      await small.release();
    }
  });

  it("ranks neurons by the mean absolute change over images", async () => {
    const acc = new RegisterDrops(p.C);
    const naive = new Float64Array(p.C);
    const signed = new Float64Array(p.C);
    for (const Z of Zs) {
      acc.add(await scorer.attention(Z, 1));
      const base = naiveLast(Z, null);
      for (let n = 0; n < p.C; n++) {
        const delta = base - naiveLast(Z, n);
        naive[n] += Math.abs(delta) / B;
        signed[n] += delta / B;
      }
    }
    const res = acc.result();
    expect(maxAbsDiff(res.drop, naive)).toBeLessThan(2e-6);
    expect(maxAbsDiff(res.signedDrop, signed)).toBeLessThan(2e-6);
    const order = Array.from({ length: p.C }, (_, n) => n).sort((a, b) => naive[b] - naive[a]);
    expect(res.ranking.slice(0, 5)).toEqual(order.slice(0, 5));
    expect(new Set(res.ranking).size).toBe(p.C);
  });

  it("refuses weights without the query/key projections and features of the wrong size", async () => {
    const { query: _q, ...noQuery } = apw;
    await expect(RegisterScorer.create(noQuery)).rejects.toThrow(/query\/key/);
    await expect(scorer.attention(new Float32Array(5), 1)).rejects.toThrow(ClipNadError);
  });
});

describe("clip-nad analyze registers (tiny fixture model)", () => {
  it("writes drop (C values) and the ranking, as the scorer gives on the model's own Z", async () => {
    const root = path.resolve(__dirname, "..");
    const MODEL = path.join(root, "test/fixtures/tiny/weights.safetensors");
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-registers-"));
    try {
      await writeToyDataset(path.join(tmp, "toy"), { n: 6, seed: 2, size: 64, masks: false });
      const out = path.join(tmp, "reg.json");
      const args = ["analyze", "registers", "--model", MODEL, "--images", path.join(tmp, "toy"), "--limit", "5",
        "--batch", "2", "--out", out, "--quiet"];
      const bin = path.join(root, "src/cli/bin.cjs");
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/registers: 5 images, 256 neurons/);
      const rep = JSON.parse(fs.readFileSync(out, "utf8"));
      expect(rep.drop).toHaveLength(256);
      expect([...rep.ranking].sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: 256 }, (_, n) => n));
      for (let q = 1; q < 256; q++) {
        expect(rep.drop[rep.ranking[q - 1]]).toBeGreaterThanOrEqual(rep.drop[rep.ranking[q]]);
      }
      const model = await loadModel(MODEL);
      const scorer = await RegisterScorer.create(model.attentionPool);
      try {
        const dir = path.join(tmp, "toy", "images");
        const files = fs.readdirSync(dir).sort().slice(0, 5).map((f) => path.join(dir, f));
        const fwd = await model.encodeImagePixels(await preprocessImages(files, model.config.imageResolution), 5);
        const att = await scorer.attention(fwd.features, 5);
        expect(maxAbsDiff(att.attention, fwd.attention)).toBeLessThan(1e-5); // the stage-1 attention is the model's
        const acc = new RegisterDrops(256);
        acc.add(att);
        expect(maxAbsDiff(acc.result().drop, rep.drop)).toBeLessThan(1e-6);
      } finally {
        await scorer.release();
        await model.dispose();
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});
