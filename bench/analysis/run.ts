/**
 * bench/analysis: clip-nad's PCA-of-all-pairs and mean-ablation curve (from s, w; src/analysis) vs a
 * straightforward dense implementation that materialises r^{n,h}(I) = s w + c per pair and per image and runs
 * an SVD per pair, on the same random data, in the same run. Also checks that both give the same answers.
 *
 *   node node_modules/tsx/dist/cli.mjs bench/analysis/run.ts [--C 512] [--H 8] [--d 256] [--N 100] [--classes 20] [--runs 2]
 *   node node_modules/tsx/dist/cli.mjs bench/analysis/run.ts --C 3072 --H 48 --d 768 --N 100 --dense 0 --runs 1   # RN50x16 shape
 *
 * Not a test: prints times (min of --runs) and ratios dense/clip-nad (> 1: clip-nad faster).
 */
import {
  ablationCurve,
  coefficientRows,
  empiricalPairPCs,
  meanTopNorms,
  neuronPCA,
  pairPCA,
  pairPCDirections,
  predictOne,
  percentile,
  topSingular,
  canonicalSign,
  reconstructionAccuracy,
} from "../../src/analysis";
import { accuracy } from "../../src/analysis/zeroshot";
import { AttentionPoolWeights, Decomposition } from "../../src/decompose";
import { normalizeRows } from "../../src/util/rows";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const C = arg("C", 512), H = arg("H", 8), d = arg("d", 256), N = arg("N", 100), nClasses = arg("classes", 20);
const runs = arg("runs", 2);
/** --dense 0: only clip-nad's routes (for shapes where the dense route is infeasible, e.g. RN50x16). */
const withDense = arg("dense", 1) !== 0;
const K = 9, k = 50, percents = [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const mk = (n: number, sc: number) => Float32Array.from({ length: n }, () => gauss() * sc);
const apw: AttentionPoolWeights = {
  C, H, d, K, dh: C / H,
  Wv: mk(C * C, 1 / Math.sqrt(C)), bv: mk(C, 0.3), Wo: mk(d * C, 1 / Math.sqrt(C)), bo: mk(d, 0.3), pos: mk((K + 1) * C, 0.3),
};
// s: per-pair scale differences so pairs differ in how much they matter
const pairScale = Float32Array.from({ length: H * C }, () => Math.exp(gauss()));
const S = new Float32Array(N * H * C);
for (let i = 0; i < N; i++) for (let u = 0; u < H * C; u++) S[i * H * C + u] = 1 + pairScale[u] * gauss();
const classifier = normalizeRows(mk(nClasses * d, 1), d);
const labels = Int32Array.from({ length: N }, () => Math.floor(rand() * nClasses));

function time<T>(label: string, f: () => T): { t: number; out: T } {
  let best = Infinity;
  let out!: T;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    out = f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(`  ${label.padEnd(44)} ${best.toFixed(3)} s`);
  return { t: best, out };
}

async function main(): Promise<void> {
  console.log(`bench/analysis: C=${C} H=${H} (pairs ${H * C}) d=${d} N=${N} classes=${nClasses} top-k=${k}; min of ${runs} runs`);
  let dec!: Decomposition;
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    dec = await Decomposition.build(apw);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(`  ${"Decomposition.build: w, c, Grams (onnxruntime, once)".padEnd(44)} ${best.toFixed(3)} s`);
  const rows = coefficientRows(S, N, H, C);

  // ---- PCA of all pairs ------------------------------------------------------------------------------
  console.log("PCA of all pairs");
  const ours = time("clip-nad pairPCA (analytic dir, majority sign)", () => pairPCA(rows, dec.w, dec.wNorms, { topK: k }));
  const oursEmp = !withDense ? undefined : time("clip-nad empiricalPairPCs (k×d power iteration)", () => empiricalPairPCs(rows, dec.w, ours.out));
  let ties = 0;
  const dense = !withDense ? undefined : time("dense: r per pair×image, centre, top-k, SVD", () => {
    ties = 0;
    const pcs = new Float32Array(H * C * d);
    const R = new Float64Array(N * d);
    const mu = new Float64Array(d);
    const X = new Float64Array(k * d);
    for (let u = 0; u < H * C; u++) {
      const h = Math.floor(u / C);
      mu.fill(0);
      for (let i = 0; i < N; i++) {
        const s = S[i * H * C + u];
        for (let j = 0; j < d; j++) {
          const r = s * dec.w[u * d + j] + dec.c[h * d + j];
          R[i * d + j] = r;
          mu[j] += r / N;
        }
      }
      const norms = Array.from({ length: N }, (_, i) => {
        let a = 0;
        for (let j = 0; j < d; j++) a += (R[i * d + j] - mu[j]) ** 2;
        return { i, n: a };
      }).sort((a, b) => b.n - a.n || a.i - b.i);
      for (let q = 0; q < k; q++) for (let j = 0; j < d; j++) X[q * d + j] = R[norms[q].i * d + j] - mu[j];
      const svd = topSingular(X, k, d, 1);
      // canonical sign before the majority rule, so 25/25 ties resolve the same way as clip-nad's
      const canon = canonicalSign(svd.right, 0, d);
      let pos = 0;
      for (let q = 0; q < k; q++) {
        let p = 0;
        for (let j = 0; j < d; j++) p += X[q * d + j] * svd.right[j] * canon;
        if (p > 0) pos++;
      }
      if (pos * 2 === k) ties++;
      const sg = pos > k / 2 ? canon : -canon;
      for (let j = 0; j < d; j++) pcs[u * d + j] = sg * svd.right[j];
    }
    return pcs;
  });
  if (dense && oursEmp) {
  const analytic = pairPCDirections(ours.out, dec.w, dec.wNorms);
  let minCos = 1;
  let minCosEmp = 1;
  for (let u = 0; u < H * C; u++) {
    let a = 0, b = 0;
    for (let j = 0; j < d; j++) {
      a += analytic[u * d + j] * dense.out[u * d + j];
      b += analytic[u * d + j] * oursEmp.out.pcs[u * d + j];
    }
    minCos = Math.min(minCos, a);
    minCosEmp = Math.min(minCosEmp, b);
  }
  console.log(`  pairs with a ${k / 2}/${k / 2} sign tie (resolved by the canonical sign): ${ties}`);
  console.log(`  agreement: min cos(analytic, dense) = ${minCos.toFixed(7)}, min cos(analytic, empirical) = ${minCosEmp.toFixed(7)}`);
  console.log(`  ratio dense / pairPCA = ${(dense.t / ours.t).toFixed(1)}x; dense / empiricalPairPCs = ${(dense.t / oursEmp.t).toFixed(1)}x`);
  }

  // ---- neuron PCA (4 PCs) ----------------------------------------------------------------------------
  console.log("Neuron PCA (PCs 1-4)");
  const nOurs = time("clip-nad neuronPCA (exact SVD, X never formed)", () => neuronPCA(rows, dec.w, dec.neuronGram, { topK: k, pcs: 4 }));
  const nDense = !withDense ? undefined : time("dense: r^n per neuron×image, centre, top-k, SVD", () => {
    const sing = new Float64Array(C * 4);
    const R = new Float64Array(N * d);
    const mu = new Float64Array(d);
    const X = new Float64Array(k * d);
    for (let n = 0; n < C; n++) {
      R.fill(0);
      mu.fill(0);
      for (let i = 0; i < N; i++)
        for (let h = 0; h < H; h++) {
          const s = S[i * H * C + h * C + n];
          const o = (h * C + n) * d;
          for (let j = 0; j < d; j++) R[i * d + j] += s * dec.w[o + j] + dec.c[h * d + j];
        }
      for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) mu[j] += R[i * d + j] / N;
      const norms = Array.from({ length: N }, (_, i) => {
        let a = 0;
        for (let j = 0; j < d; j++) a += (R[i * d + j] - mu[j]) ** 2;
        return { i, n: a };
      }).sort((a, b) => b.n - a.n || a.i - b.i);
      for (let q = 0; q < k; q++) for (let j = 0; j < d; j++) X[q * d + j] = R[norms[q].i * d + j] - mu[j];
      const svd = topSingular(X, k, d, 4);
      for (let p = 0; p < 4; p++) sing[n * 4 + p] = svd.singular[p];
    }
    return sing;
  });
  if (nDense) {
  let maxRel = 0;
  for (let q = 0; q < C * 4; q++) if (nDense.out[q] > 0) maxRel = Math.max(maxRel, Math.abs(nOurs.out.singular[q] / nDense.out[q] - 1));
  console.log(`  agreement: max relative difference of singular values = ${maxRel.toExponential(2)}`);
  console.log(`  ratio dense / neuronPCA = ${(nDense.t / nOurs.t).toFixed(1)}x`);
  }

  // ---- ablation curve (pairs) ------------------------------------------------------------------------
  console.log(`Mean-ablation curve over ${percents.length} percentages (pairs)`);
  const scores = meanTopNorms(ours.out.topNorms, ours.out.k);
  const sBar = ours.out.sBar;
  const abl = time("clip-nad ablationCurve (incremental W_V s̃)", () =>
    ablationCurve(rows, labels, { apw, sBar, classifier, bias: dec.bias }, { unit: "pair", scores, percentKept: percents }));
  const ablDense = !withDense ? undefined : time("dense: materialise r, sum kept + means, per p", () => {
    const acc = new Float64Array(d);
    return percents.map((p) => {
      // the official rule (ablationCurve's default): keep score ≥ the (100 − p)th percentile
      const threshold = percentile(scores, 100 - p);
      const preds = new Int32Array(N);
      for (let i = 0; i < N; i++) {
        acc.fill(0);
        for (let u = 0; u < H * C; u++) {
          const h = Math.floor(u / C);
          const s = scores[u] >= threshold ? S[i * H * C + u] : sBar[u];
          for (let j = 0; j < d; j++) acc[j] += s * dec.w[u * d + j] + dec.c[h * d + j];
        }
        preds[i] = predictOne(acc, classifier);
      }
      return accuracy(preds, labels);
    });
  });
  if (ablDense) {
    const same = abl.out.points.every((pt, t) => pt.accuracy === ablDense.out[t]);
    console.log(`  agreement: identical accuracies at every p = ${same}`);
    console.log(`  ratio dense / ablationCurve = ${(ablDense.t / abl.t).toFixed(1)}x`);
  }
  console.log("Reconstruction accuracy (unmodified, pairs 1 PC, neurons 1/2/4 PCs)");
  time("clip-nad reconstructionAccuracy", () =>
    reconstructionAccuracy(rows, labels, { apw, w: dec.w, sBar, classifier, bias: dec.bias }, { pairPCA: ours.out, neuronPCs: nOurs.out }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
