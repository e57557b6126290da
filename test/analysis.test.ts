import { describe, expect, it } from "vitest";
import {
  ablationCurve,
  coefficientRows,
  empiricalPairPCs,
  meanCoefficients,
  meanTopNorms,
  neuronPCA,
  pairPCA,
  pairPCDirections,
  pairPCsFromTopDeltas,
  predictOne,
  reconstructionAccuracy,
  scoreHistogram,
  keptCount,
  percentile,
  scoreThreshold,
  symmetricEigen,
  symmetricEigenJacobi,
  topSingular,
  canonicalSign,
} from "../src/analysis";
import { coefficientsToEmbedding } from "../src/decompose";
import { accuracy } from "../src/analysis/zeroshot";
import { TopK } from "../src/util/topk";
import { collectReference, randomTask } from "./analysis-data";
import { gaussian, neuronContribution, neuronGram, pairContribution, rng } from "./decompose-reference";

describe("linear algebra", () => {
  for (const [n, r, solver] of [[12, 12, "QL"], [50, 4, "QL"], [50, 50, "QL"], [12, 12, "Jacobi"], [30, 3, "Jacobi"]] as const) {
  it(`${solver} eigen-decomposition reconstructs a random symmetric ${n}×${n} matrix of rank ${r}`, () => {
    const g = gaussian(rng(3 + n + r));
    const B = Array.from({ length: n * r }, () => g());
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < r; k++) A[i * n + j] += B[i * r + k] * B[j * r + k] * (k % 3 === 2 ? -1 : 1);
    const { values, vectors } = (solver === "QL" ? symmetricEigen : symmetricEigenJacobi)(A, n);
    for (let i = 1; i < n; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
    let err = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += values[k] * vectors[k * n + i] * vectors[k * n + j];
        err = Math.max(err, Math.abs(acc - A[i * n + j]));
      }
    expect(err).toBeLessThan(1e-10);
    let orth = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += vectors[i * n + k] * vectors[j * n + k];
        orth = Math.max(orth, Math.abs(acc - (i === j ? 1 : 0)));
      }
    expect(orth).toBeLessThan(1e-10);
  });
  }

  it("streaming top-k keeps the k largest scores, earlier row on ties; NaN never ranks; empty slots row −1, NaN", () => {
    const t = new TopK(3, 3);
    [5, 1, 9, 5, 7, 2].forEach((v, i) => t.offer(0, v, i));
    [1, 1, 1, 1].forEach((v, i) => t.offer(1, v, i));
    [NaN, 4, NaN].forEach((v, i) => t.offer(2, v, i));
    const { scores, rows } = t.result();
    expect(Array.from(scores.subarray(0, 3))).toEqual([9, 7, 5]);
    expect(Array.from(rows.subarray(0, 3))).toEqual([2, 4, 0]);
    expect(Array.from(rows.subarray(3, 6))).toEqual([0, 1, 2]);
    expect(Array.from(rows.subarray(6, 9))).toEqual([1, -1, -1]);
    expect(scores[6]).toBe(4);
    expect(Number.isNaN(scores[7]) && Number.isNaN(scores[8])).toBe(true);
  });
});

describe("analyses of a reference collection (N = 60 images, C = 64, H = 4, d = 16)", async () => {
  const { apw, dec, sets } = await collectReference(42, 60);
  const { H, C, d } = apw;
  const HC = H * C;
  const train = sets(0, 60); // "collection" for PCA / means / scores
  const evalSet = sets(500, 45); // held-out "validation" images
  const trainRows = coefficientRows(train.S, train.N, H, C);
  const evalRows = coefficientRows(evalSet.S, evalSet.N, H, C);
  const pca = pairPCA(trainRows, dec.w, dec.wNorms, { topK: 50 });
  const { classifier, labels } = randomTask(dec, evalSet, 6, 7);

  const cos = (a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, n: number) => {
    let ab = 0, aa = 0, bb = 0;
    for (let j = 0; j < n; j++) {
      ab += a[ao + j] * b[bo + j];
      aa += a[ao + j] ** 2;
      bb += b[bo + j] ** 2;
    }
    return ab / Math.sqrt(aa * bb);
  };

  /** Dense route for one unit: contributions of every image (N×d) → centre → top-k by norm → SVD → majority sign. */
  function densePCs(contrib: (i: number) => ArrayLike<number>, N: number, k: number, m: number) {
    const R = new Float64Array(N * d);
    for (let i = 0; i < N; i++) R.set(contrib(i), i * d);
    const mu = new Float64Array(d);
    for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) mu[j] += R[i * d + j] / N;
    const norms = Array.from({ length: N }, (_, i) => {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += (R[i * d + j] - mu[j]) ** 2;
      return { i, n: Math.sqrt(acc) };
    }).sort((a, b) => b.n - a.n || a.i - b.i);
    const X = new Float64Array(k * d);
    for (let j = 0; j < k; j++) for (let c = 0; c < d; c++) X[j * d + c] = R[norms[j].i * d + c] - mu[c];
    const svd = topSingular(X, k, d, m);
    const pcs = new Float64Array(m * d);
    for (let p = 0; p < m; p++) {
      // canonical sign (largest component positive) first, so exact k/2 ties resolve like src/analysis
      const canon = canonicalSign(svd.right, p * d, d);
      let pos = 0;
      for (let j = 0; j < k; j++) {
        let pr = 0;
        for (let c = 0; c < d; c++) pr += X[j * d + c] * svd.right[p * d + c] * canon;
        if (pr > 0) pos++;
      }
      const sg = pos > k / 2 ? canon : -canon;
      for (let c = 0; c < d; c++) pcs[p * d + c] = sg * svd.right[p * d + c];
    }
    return { pcs, singular: svd.singular, top: norms.slice(0, k) };
  }

  describe("PCA (paper §A.4) on collected coefficients", () => {
    it("the empirical first PC of every varying pair is ±w/|w| (|cos| ≥ 0.9999) and equals the analytic PC with its sign", () => {
      const emp = empiricalPairPCs(trainRows, dec.w, pca);
      const analytic = pairPCDirections(pca, dec.w, dec.wNorms);
      let varying = 0;
      for (let u = 0; u < HC; u++) {
        if (pca.topNorms[u * pca.k] === 0) continue;
        varying++;
        expect(Math.abs(cos(emp.pcs, u * d, dec.w, u * d, d))).toBeGreaterThanOrEqual(0.9999);
        expect(cos(emp.pcs, u * d, analytic, u * d, d)).toBeGreaterThanOrEqual(0.9999);
      }
      expect(varying).toBe(HC);
    });

    it("pairPCsFromTopDeltas (stored signed top-k deltas): ±w/|w| by the majority sign of the deltas", () => {
      const k = pca.k;
      const deltas = new Float32Array(HC * k);
      for (let u = 0; u < HC; u++) {
        for (let j = 0; j < k; j++) deltas[u * k + j] = train.S[pca.topImages[u * k + j] * HC + u] - pca.sBar[u];
      }
      const all = pairPCsFromTopDeltas(dec.w, deltas, k);
      expect(Array.from(all.pairs)).toEqual(Array.from({ length: HC }, (_, u) => u));
      let checked = 0;
      for (let u = 0; u < HC; u++) {
        const pos = Array.from(deltas.subarray(u * k, (u + 1) * k)).filter((x) => x > 0).length;
        const neg = Array.from(deltas.subarray(u * k, (u + 1) * k)).filter((x) => x < 0).length;
        if (pos === neg) continue; // an exact tie is resolved by the canonical sign
        checked++;
        expect(cos(all.pcs, u * d, dec.w, u * d, d) * (pos > neg ? 1 : -1)).toBeGreaterThan(0.9999);
      }
      expect(checked).toBeGreaterThan(HC / 2);
      // a selection gives the same rows; from the collection's rows (empiricalPairPCs) too
      const sel = [5, 77, HC - 1];
      const some = pairPCsFromTopDeltas(dec.w, deltas, k, sel);
      expect(Array.from(some.pairs)).toEqual(sel);
      sel.forEach((u, q) => {
        expect(Array.from(some.pcs.subarray(q * d, (q + 1) * d))).toEqual(Array.from(all.pcs.subarray(u * d, (u + 1) * d)));
      });
      const emp = empiricalPairPCs(trainRows, dec.w, pca, sel);
      for (let q = 0; q < sel.length; q++) expect(cos(emp.pcs, q * d, some.pcs, q * d, d)).toBeGreaterThan(0.9999);
      expect(() => pairPCsFromTopDeltas(dec.w, new Float32Array(7), 2)).toThrow();
    });

    it("pair PCA matches the dense route (materialised r over images, centre, top-50, SVD, majority sign)", () => {
      const analytic = pairPCDirections(pca, dec.w, dec.wNorms);
      for (let u = 0; u < HC; u += 5) {
        const h = Math.floor(u / C), n = u % C;
        const dense = densePCs((i) => pairContribution(train.S.subarray(i * HC, (i + 1) * HC), dec.w, dec.c, h, n), train.N, 50, 2);
        expect(cos(dense.pcs, 0, analytic, u * d, d)).toBeGreaterThan(0.9999);
        expect(dense.singular[1] / dense.singular[0]).toBeLessThan(1e-5); // rank-1 by construction
        expect(dense.top.map((t) => t.i)).toEqual(Array.from(pca.topImages.subarray(u * 50, u * 50 + 50)));
        expect(pca.topNorms[u * 50]).toBeCloseTo(dense.top[0].n, 4);
      }
    });

    for (const [k, m] of [[50, 4], [3, 3]] as const) {
      it(`neuron PCs 1–${m} (top-${k} images; ${k > H ? "r×r head" : "k×k image"} route) match the dense route; a neuron is not rank-1`, () => {
        const npca = neuronPCA(trainRows, dec.w, dec.neuronGram, { topK: k, pcs: m });
        for (let n = 0; n < C; n += 3) {
          const dense = densePCs((i) => neuronContribution(train.S.subarray(i * HC, (i + 1) * HC), dec.w, dec.c, n), train.N, k, m);
          expect(dense.top.map((t) => t.i)).toEqual(Array.from(npca.topImages.subarray(n * k, n * k + k)));
          for (let p = 0; p < m; p++) {
            expect(npca.singular[n * m + p] / dense.singular[p]).toBeCloseTo(1, 5);
            expect(cos(npca.pcs, (n * m + p) * d, dense.pcs, p * d, d)).toBeGreaterThan(0.9999);
          }
          expect(npca.singular[n * m + 1] / npca.singular[n * m]).toBeGreaterThan(1e-3);
        }
      });
    }

    it("neuron PCs stay exact when a neuron's Gram is singular (a head that never reads it)", () => {
      const w2 = dec.w.slice();
      for (const n of [0, 1]) w2.fill(0, (1 * C + n) * d, (1 * C + n + 1) * d); // w^{n,h=1} = 0
      w2.fill(0, (2 * C + 1) * d, (2 * C + 2) * d); // neuron 1 loses heads 1 and 2
      const g2 = neuronGram(w2, H, C, d);
      const npca = neuronPCA(trainRows, w2, g2, { topK: 50, pcs: 4 });
      for (const [n, rank] of [[0, 3], [1, 2]] as const) {
        const dense = densePCs((i) => neuronContribution(train.S.subarray(i * HC, (i + 1) * HC), w2, dec.c, n), train.N, 50, 4);
        for (let p = 0; p < rank; p++) {
          expect(npca.singular[n * 4 + p] / dense.singular[p]).toBeCloseTo(1, 5);
          expect(cos(npca.pcs, (n * 4 + p) * d, dense.pcs, p * d, d)).toBeGreaterThan(0.9999);
        }
        for (let p = rank; p < 4; p++) expect(npca.singular[n * 4 + p]).toBe(0);
      }
    });
  });

  describe("reconstruction from PCs (paper §A.5)", () => {
    const npca = neuronPCA(trainRows, dec.w, dec.neuronGram, { topK: 50, pcs: 4 });
    const ctx = { apw, w: dec.w, sBar: pca.sBar, classifier, bias: dec.bias };

    it("pairs with their empirical first PC reconstruct exactly: accuracy == unmodified", () => {
      const emp = empiricalPairPCs(trainRows, dec.w, pca);
      const res = reconstructionAccuracy(evalRows, labels, ctx, { pairDirections: emp.pcs, neuronPCs: npca });
      expect(Array.from(res.predictions.pairs)).toEqual(Array.from(res.predictions.unmodified));
      expect(res.pairs).toBe(res.unmodified);
      const fast = reconstructionAccuracy(evalRows, labels, ctx, { pairPCA: pca });
      expect(fast.pairs).toBe(res.unmodified);
      // unmodified = the reference forward's own embeddings
      const ref = Int32Array.from({ length: evalSet.N }, (_, i) => predictOne(evalSet.embeddings.subarray(i * d, (i + 1) * d), classifier));
      expect(Array.from(res.predictions.unmodified)).toEqual(Array.from(ref));
      expect(res.neurons.map((x) => x.pcs)).toEqual([1, 2, 4]);
    });

    it("neuron reconstruction with m PCs equals the dense formula μ + Σ_k ⟨Δ, pc_k⟩ pc_k", () => {
      const res = reconstructionAccuracy(evalRows, labels, ctx, { neuronPCs: npca, neuronK: [1, 4] });
      const muS = pca.sBar;
      for (const [t, m] of [[0, 1], [1, 4]] as const) {
        for (let i = 0; i < evalSet.N; i++) {
          const s = evalSet.S.subarray(i * HC, (i + 1) * HC);
          const M = new Float64Array(d);
          for (let n = 0; n < C; n++) {
            const r = neuronContribution(s, dec.w, dec.c, n);
            const mu = neuronContribution(muS, dec.w, dec.c, n);
            for (let j = 0; j < d; j++) M[j] += mu[j];
            for (let p = 0; p < m; p++) {
              const o = (n * 4 + p) * d;
              let proj = 0;
              for (let j = 0; j < d; j++) proj += (r[j] - mu[j]) * npca.pcs[o + j];
              for (let j = 0; j < d; j++) M[j] += proj * npca.pcs[o + j];
            }
          }
          expect(res.predictions.neurons[t][i]).toBe(predictOne(M, classifier));
        }
      }
      // H = 4 PCs span all of a neuron's H directions: the reconstruction is then exact
      expect(Array.from(res.predictions.neurons[1])).toEqual(Array.from(res.predictions.unmodified));
    });
  });

  describe("sparsity and mean-ablation (paper §A.6)", () => {
    const scores = meanTopNorms(pca.topNorms, pca.k);
    const ctx = { apw, sBar: pca.sBar, classifier, bias: dec.bias };
    const unmod = reconstructionAccuracy(evalRows, labels, { ...ctx, w: dec.w }).unmodified;
    const meanPred = predictOne(coefficientsToEmbedding(apw, pca.sBar, dec.bias), classifier);
    const allMeans = accuracy(new Int32Array(evalSet.N).fill(meanPred), labels);

    it("the task separates the endpoints (unmodified ≠ all-means accuracy)", () => {
      expect(unmod).not.toBe(allMeans);
    });

    it("pair score = mean of top-50 |s−s̄|·|w|", () => {
      const u = 77;
      const vals = Array.from({ length: train.N }, (_, i) => Math.abs(train.S[i * HC + u] - pca.sBar[u]) * dec.wNorms[u]).sort((a, b) => b - a);
      expect(scores[u]).toBeCloseTo(vals.slice(0, 50).reduce((a, b) => a + b, 0) / 50, 5);
    });

    /** numpy.percentile(v, q), default "linear" method: sort, position q/100·(n−1), interpolate neighbours. */
    const npPercentile = (v: ArrayLike<number>, q: number) => {
      const x = Array.from(v).sort((p, r) => p - r);
      const pos = (q / 100) * (x.length - 1);
      const lo = Math.floor(pos);
      return lo + 1 < x.length ? x[lo] + (x[lo + 1] - x[lo]) * (pos - lo) : x[lo];
    };
    /** Accuracy with every unit outside `keep` mean-ablated, by masking s directly and re-embedding. */
    const maskedAccuracy = (unit: "pair" | "neuron", keep: (u: number) => boolean) => {
      const preds = Int32Array.from({ length: evalSet.N }, (_, i) => {
        const s = evalSet.S.subarray(i * HC, (i + 1) * HC);
        const st = Float32Array.from(s, (v, q) => (keep(unit === "pair" ? q : q % C) ? v : pca.sBar[q]));
        return predictOne(coefficientsToEmbedding(apw, st, dec.bias), classifier);
      });
      return accuracy(preds, labels);
    };
    const unitScores = (unit: "pair" | "neuron") =>
      unit === "pair" ? scores : meanTopNorms(neuronPCA(trainRows, dec.w, dec.neuronGram, { pcs: 1 }).topNorms, 50);

    it("percentile is numpy's (linear interpolation)", () => {
      expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
      expect(percentile([4, 1, 3, 2], 25)).toBe(1.75);
      expect(percentile([10, 20, 30, 40, 50], 10)).toBeCloseTo(14, 12);
      expect(percentile([3, 1, 2], 0)).toBe(1);
      expect(percentile([3, 1, 2], 100)).toBe(3);
      expect(() => percentile([1], 101)).toThrow();
    });

    for (const unit of ["pair", "neuron"] as const) {
      it(`${unit} curve, "count" rule: 100% == unmodified, 0% == all-means, 20% == masking the top round(20%)`, () => {
        const sc = unitScores(unit);
        const curve = ablationCurve(evalRows, labels, ctx, { unit, scores: sc, percentKept: [100, 0, 20], rule: "count" });
        expect(curve.points[0].accuracy).toBe(unmod);
        expect(curve.points[1].accuracy).toBe(allMeans);
        const U = unit === "pair" ? HC : C;
        const kept = Math.round(U * 0.2);
        // independent ranking: higher score first, lower index on ties
        const ranked = Array.from({ length: U }, (_, u) => u).sort((x, y) => sc[y] - sc[x] || x - y);
        const keepSet = new Set(ranked.slice(0, kept));
        expect(curve.points[2].kept).toBe(kept);
        expect(curve.points[2].accuracy).toBe(maskedAccuracy(unit, (u) => keepSet.has(u)));
        expect(keptCount(20, sc, "count")).toBe(kept);
        expect(scoreThreshold(sc, 20, "count")).toBe(sc[ranked[kept - 1]]);
      });

      it(`${unit} curve, "percentile" rule (default): keeps score ≥ numpy percentile(100 − p), accuracy == masking`, () => {
        const sc = unitScores(unit);
        const percents = [100, 0, 20, 50];
        const curve = ablationCurve(evalRows, labels, ctx, { unit, scores: sc, percentKept: percents });
        expect(curve.points[0].accuracy).toBe(unmod);
        percents.forEach((p, t) => {
          const thr = npPercentile(sc, 100 - p);
          const keep = (u: number) => sc[u] >= thr;
          expect(curve.points[t].percentKept).toBe(p);
          expect(curve.points[t].kept).toBe(Array.from(sc).filter((v) => v >= thr).length);
          expect(keptCount(p, sc)).toBe(curve.points[t].kept);
          expect(scoreThreshold(sc, p)).toBe(thr);
          expect(curve.points[t].accuracy).toBe(maskedAccuracy(unit, keep));
        });
        // 0 % still keeps the top unit(s): the 100th percentile is the maximum score
        expect(curve.points[1].kept).toBe(Array.from(sc).filter((v) => v === Math.max(...sc)).length);
        expect(curve.points[1].kept).toBeGreaterThanOrEqual(1);
      });
    }

    it("histogram counts every score", () => {
      const hist = scoreHistogram(scores, 20);
      expect(hist.counts.reduce((a, b) => a + b, 0)).toBe(HC);
      expect(hist.edges.length).toBe(21);
      expect(meanCoefficients(trainRows)).toEqual(pca.sBar);
    });
  });
});
