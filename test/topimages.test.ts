import { beforeAll, describe, expect, it } from "vitest";
import { coefficientRows, unitTopImages } from "../src/analysis";
import { AttentionPoolWeights, Decomposition, attentionPoolWeights, pairNormCoefficients, pairNorms } from "../src/decompose";
import { RefPool, gaussian, poolConfig, poolStateDict, randomPool, rng } from "./decompose-reference";
import { NaiveNorms, bruteTop, naiveNorms } from "./topimages-reference";

/**
 * Top images per unit from scalars (src/decompose/unitNorms + src/analysis/topImages) against a naive implementation
 * that materialises every r^{n,h}(I) = s w + c (test/decompose-reference: float64 loops from the definitions), on a
 * small random attention pool and random coefficients.
 */
const N = 37, C = 64, H = 4, d = 16, K = 9;
let ref: RefPool;
let apw: AttentionPoolWeights;
let dec: Decomposition;
let S: Float32Array;
let mean: Float64Array;

/** Naive norms of one image (materialised contributions), raw or centred on the mean. */
function naive(i: number, centred: boolean): NaiveNorms {
  return naiveNorms(ref, [S.subarray(i * H * C, (i + 1) * H * C)], centred ? mean : undefined)[0];
}

const bruteTopN = (value: (i: number) => number, k: number) => bruteTop(N, value, k);

beforeAll(async () => {
  ref = randomPool(41, C, H, d, K);
  apw = attentionPoolWeights(poolStateDict(ref), poolConfig(ref));
  dec = await Decomposition.build(apw);
  const g = gaussian(rng(9));
  S = new Float32Array(N * H * C);
  // Signed coefficients around a per-pair offset, so raw and centred rankings differ.
  const offset = Float32Array.from({ length: H * C }, () => g());
  for (let i = 0; i < N; i++) for (let u = 0; u < H * C; u++) S[i * H * C + u] = offset[u] + 0.7 * g();
  mean = new Float64Array(H * C);
  for (let i = 0; i < N; i++) for (let u = 0; u < H * C; u++) mean[u] += S[i * H * C + u] / N;
});

describe("norms from scalars vs materialised contributions", () => {
  it("pair norms ‖s w + c‖ (raw) and |s − s̄|·|w| (centred) match the naive ones", () => {
    for (const centred of [false, true]) {
      const q = pairNormCoefficients(apw, dec.wNorms, centred ? "centred" : "raw");
      for (const i of [0, 5, 36]) {
        const got = pairNorms(S.subarray(i * H * C, (i + 1) * H * C), q, centred ? Float32Array.from(mean) : undefined);
        const want = naive(i, centred).pair;
        for (let u = 0; u < H * C; u++) expect(Math.abs(got[u] - want[u])).toBeLessThanOrEqual(2e-5 * (1 + want[u]));
      }
    }
  });
});

describe("unitTopImages: top-k rows and scores per unit against a brute-force sort", () => {
  for (const normKind of ["raw", "centred"] as const) {
    it(`${normKind}: every pair, neuron and head`, async () => {
      const k = 6;
      const top = await unitTopImages(coefficientRows(S, N, H, C), dec, { k, norm: normKind, rowsPerChunk: 8 });
      expect([top.N, top.k, top.norm]).toEqual([N, k, normKind]);
      const all = Array.from({ length: N }, (_, i) => naive(i, normKind === "centred"));
      const check = (got: { rows: Int32Array; scores: Float32Array }, want: { rows: number[]; scores: number[] }) => {
        expect(Array.from(got.rows)).toEqual(want.rows);
        want.scores.forEach((v, j) => expect(Math.abs(got.scores[j] - v)).toBeLessThanOrEqual(1e-4 * (1 + v)));
      };
      for (let h = 0; h < H; h++) for (let n = 0; n < C; n++) check(top.pair({ neuron: n, head: h }), bruteTopN((i) => all[i].pair[h * C + n], k));
      for (let n = 0; n < C; n++) check(top.neuron(n), bruteTopN((i) => all[i].neuron[n], k));
      for (let h = 0; h < H; h++) check(top.head(h), bruteTopN((i) => all[i].head[h], k));
    });
  }

  it("raw and centred rankings differ on this data (the bias shares and the mean matter)", async () => {
    const raw = await unitTopImages(coefficientRows(S, N, H, C), dec, { k: 5, norm: "raw" });
    const cen = await unitTopImages(coefficientRows(S, N, H, C), dec, { k: 5, norm: "centred" });
    let differ = 0;
    for (let n = 0; n < C; n++) if (raw.neuron(n).rows.join() !== cen.neuron(n).rows.join()) differ++;
    expect(differ).toBeGreaterThan(C / 4);
  });

  it("long streams (early rejection), repeated rows (ties: lower row first) and a zero direction", async () => {
    // A model where neuron 5 writes nothing (W_V[:, 5] = 0, so w^{5,h} = 0: every image ties at |c^h|).
    const p0 = randomPool(43, C, H, d, K);
    for (let r = 0; r < C; r++) p0.Wv[r * C + 5] = 0;
    const apw0 = attentionPoolWeights(poolStateDict(p0), poolConfig(p0));
    const dec0 = await Decomposition.build(apw0);
    const M = 400, k = 4, g = gaussian(rng(17));
    const S0 = new Float32Array(M * H * C);
    for (let i = 0; i < M; i++) {
      const src = i % 50 === 49 ? i - 30 : i; // every 50th row repeats an earlier one exactly
      for (let u = 0; u < H * C; u++) S0[i * H * C + u] = src === i ? Math.exp(0.6 * g()) - 0.8 : S0[src * H * C + u];
    }
    const mean0 = new Float32Array(H * C);
    for (let i = 0; i < M; i++) for (let u = 0; u < H * C; u++) mean0[u] += S0[i * H * C + u] / M;
    for (const normKind of ["raw", "centred"] as const) {
      const q = pairNormCoefficients(apw0, dec0.wNorms, normKind);
      const top = await unitTopImages(coefficientRows(S0, M, H, C), dec0, { k, norm: normKind, mean: mean0, rowsPerChunk: 16, neurons: [], heads: [] });
      for (let u = 0; u < H * C; u++) {
        // Brute force on the same scalars: ‖r‖² of every row in float64, sorted, ties by row.
        const m = normKind === "centred" ? mean0[u] : 0;
        const sq = Array.from({ length: M }, (_, i) => { const x = S0[i * H * C + u] - m; return { i, v: (q.a[u] * x + q.b[u]) * x + q.e[u] }; });
        sq.sort((x, y) => y.v - x.v || x.i - y.i);
        const got = top.pair({ neuron: u % C, head: Math.floor(u / C) });
        expect(Array.from(got.rows), `pair ${u}`).toEqual(sq.slice(0, k).map((x) => x.i));
      }
      for (let h = 0; h < H; h++) expect(Array.from(top.pair({ neuron: 5, head: h }).rows)).toEqual([0, 1, 2, 3]);
    }
  });

  it("subsets, chunking and k > N give the same lists as the full run", async () => {
    const rows = coefficientRows(S, N, H, C);
    const full = await unitTopImages(rows, dec, { k: 50 });
    const chunked = { ...rows, chunks: function* (R = 5) { for (let s = 0; s < N; s += R) yield { start: s, count: Math.min(R, N - s), data: S.slice(s * H * C, Math.min(N, s + R) * H * C) }; } };
    const part = await unitTopImages(chunked, dec, { k: 50, pairs: [{ neuron: 7, head: 2 }], neurons: [7, 3], heads: [1] });
    expect(part.pair({ neuron: 7, head: 2 }).rows.length).toBe(N);
    expect(Array.from(part.pair({ neuron: 7, head: 2 }).rows)).toEqual(Array.from(full.pair({ neuron: 7, head: 2 }).rows));
    expect(Array.from(part.neuron(3).rows)).toEqual(Array.from(full.neuron(3).rows));
    expect(Array.from(part.head(1).scores)).toEqual(Array.from(full.head(1).scores));
    expect(() => part.neuron(4)).toThrow(/neuron 4 were not computed/);
    expect(() => part.head(H)).toThrow(/out of range/);
  });
});
