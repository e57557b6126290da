import { ClipNadError } from "../errors";
import { AttentionPoolWeights, applyOutput, embeddingBias } from "../decompose";
import { CoefficientRows } from "./rows";
import { accuracy, predictOne } from "./zeroshot";

/**
 * Sparsity and mean-ablation (paper.md §A.6). Score of a unit = mean of its top-k (50) centred norms
 * (pairs: |s−s̄|·|w|; neurons: |Σ_h δ^{n,h} w^{n,h}|), i.e. the `topNorms` of pairPCA / neuronPCA.
 * Mean-ablating a pair replaces s^{n,h} by s̄^{n,h}; a neuron, all of its heads' s. Keeping the top p% is
 * nested in p, so one walk over units in score order per image gives the whole curve: the value vector
 * W_V s̃ is updated column by column (dh per pair) and W_O applied at each threshold — cost C·C + P·d·C
 * per image instead of P·H·C·d for materialised contributions.
 */

/** Score per unit = mean of its k saved top norms (units×k, descending; fewer images → mean over those). */
export function meanTopNorms(topNorms: Float32Array, k: number): Float32Array {
  const U = topNorms.length / k;
  const out = new Float32Array(U);
  for (let u = 0; u < U; u++) {
    let acc = 0;
    for (let j = 0; j < k; j++) acc += topNorms[u * k + j];
    out[u] = acc / k;
  }
  return out;
}

/** Unit indices by descending score (ties: lower index first). */
export function rankByScore(scores: Float32Array): Int32Array {
  return Int32Array.from(Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b));
}

/**
 * Which units survive at "keep p %":
 *  - "percentile" (the official get_masks rule, the default): score ≥ the (100 − p)-th percentile of all scores
 *    (numpy's linear interpolation), so ties at the threshold are all kept and 0 % still keeps the top unit;
 *  - "count": exactly round(p/100 · units) units, best first (ties: lower index first).
 */
export type KeepRule = "percentile" | "count";

/** numpy.percentile(values, q) with the default linear interpolation. */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 100)) throw new ClipNadError(`percentile must be in [0, 100], got ${q}`);
  const x = Float64Array.from(values).sort();
  if (x.length === 0) throw new ClipNadError("percentile of no values");
  const pos = (q / 100) * (x.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return x[lo] + (x[hi] - x[lo]) * (pos - lo);
}

/** Number of units kept at p % under `rule`. */
export function keptCount(percentKept: number, scores: Float32Array, rule: KeepRule = "percentile"): number {
  if (!(percentKept >= 0 && percentKept <= 100)) throw new ClipNadError(`percent kept must be in [0, 100], got ${percentKept}`);
  if (rule === "count") return Math.round((percentKept / 100) * scores.length);
  const threshold = percentile(scores, 100 - percentKept);
  let n = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] >= threshold) n++;
  return n;
}

export interface AblationContext {
  apw: AttentionPoolWeights;
  /** Means used for ablation (H×C). */
  sBar: Float32Array;
  /** Unit-row class embeddings (classes × d). */
  classifier: Float32Array;
  bias?: Float64Array;
}

export interface AblationOptions {
  unit: "pair" | "neuron";
  /** H×C scores for pairs, C for neurons. */
  scores: Float32Array;
  /** Percent of units KEPT (the rest mean-ablated), e.g. [0, 5, 10, 20, …, 100]. */
  percentKept: number[];
  /** How the kept set is chosen (default "percentile", the official rule). */
  rule?: KeepRule;
  onProgress?: (done: number, total: number) => void;
}

export interface AblationPoint {
  percentKept: number;
  kept: number;
  accuracy: number;
}

export interface AblationCurve {
  unit: "pair" | "neuron";
  units: number;
  images: number;
  points: AblationPoint[];
}

export function ablationCurve(rows: CoefficientRows, labels: ArrayLike<number>, ctx: AblationContext, opts: AblationOptions): AblationCurve {
  const { apw, sBar, classifier } = ctx;
  const { H, C, dh, Wv } = apw;
  if (rows.H !== H || rows.C !== C) throw new ClipNadError(`coefficients are ${rows.H}×${rows.C}, model is ${H}×${C}`);
  if (labels.length !== rows.N) throw new ClipNadError(`${labels.length} labels for ${rows.N} images`);
  const units = opts.unit === "pair" ? H * C : C;
  if (opts.scores.length !== units) throw new ClipNadError(`${opts.unit} scores have ${opts.scores.length} values, expected ${units}`);
  const bias = ctx.bias ?? embeddingBias(apw);
  const order = rankByScore(opts.scores);
  const thresholds = opts.percentKept
    .map((p, t) => ({ t, kept: keptCount(p, opts.scores, opts.rule) }))
    .sort((a, b) => a.kept - b.kept || a.t - b.t);

  // W_V columns laid out in the order units are added (score rank), so the per-image walk streams through
  // memory: for pairs one dh-column per rank, for neurons H of them. colHead[q] = head of column q.
  const colsPerUnit = opts.unit === "pair" ? 1 : H;
  const nCols = units * colsPerUnit;
  const cols = new Float32Array(nCols * dh);
  const colHead = new Int32Array(nCols);
  const colPair = new Int32Array(nCols); // h·C + n, to read s and s̄
  for (let pos = 0; pos < units; pos++) {
    const u = order[pos];
    for (let t = 0; t < colsPerUnit; t++) {
      const q = pos * colsPerUnit + t;
      const h = opts.unit === "pair" ? Math.floor(u / C) : t;
      const n = opts.unit === "pair" ? u % C : u;
      colHead[q] = h;
      colPair[q] = h * C + n;
      for (let k = 0; k < dh; k++) cols[q * dh + k] = Wv[(h * dh + k) * C + n];
    }
  }
  const vBar = new Float64Array(C);
  for (let h = 0; h < H; h++)
    for (let k = 0; k < dh; k++) {
      let acc = 0;
      const row = (h * dh + k) * C;
      for (let n = 0; n < C; n++) acc += Wv[row + n] * sBar[h * C + n];
      vBar[h * dh + k] = acc;
    }

  const N = rows.N;
  const preds = opts.percentKept.map(() => new Int32Array(N));
  const v = new Float64Array(C);
  const scratch = new Float64Array(classifier.length / apw.d);
  for (let i = 0; i < N; i++) {
    const s = rows.row(i);
    v.set(vBar);
    let q = 0;
    for (const th of thresholds) {
      for (const qEnd = th.kept * colsPerUnit; q < qEnd; q++) {
        const pq = colPair[q];
        const delta = s[pq] - sBar[pq];
        if (delta === 0) continue;
        const o = q * dh;
        const vo = colHead[q] * dh;
        for (let k = 0; k < dh; k++) v[vo + k] += cols[o + k] * delta;
      }
      preds[th.t][i] = predictOne(applyOutput(apw, v, bias), classifier, scratch);
    }
    opts.onProgress?.(i + 1, N);
  }
  return {
    unit: opts.unit,
    units,
    images: N,
    points: opts.percentKept.map((p, t) => ({ percentKept: p, kept: keptCount(p, opts.scores, opts.rule), accuracy: accuracy(preds[t], labels) })),
  };
}

export interface Histogram {
  /** bins+1 edges (log10 of the score when `log`). */
  edges: number[];
  counts: number[];
  log: boolean;
}

/** Histogram of scores (paper's get_masks --show_hist: x "Mean value", y "Frequency"). */
export function scoreHistogram(scores: Float32Array, bins = 50, log = false): Histogram {
  const vals = Array.from(scores, (x) => (log ? Math.log10(x) : x)).filter((x) => Number.isFinite(x));
  if (vals.length === 0) return { edges: [0, 1], counts: [0], log };
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of vals) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (hi === lo) hi = lo + 1;
  const edges = Array.from({ length: bins + 1 }, (_, b) => lo + ((hi - lo) * b) / bins);
  const counts = new Array(bins).fill(0);
  for (const x of vals) counts[Math.min(bins - 1, Math.floor(((x - lo) / (hi - lo)) * bins))]++;
  return { edges, counts, log };
}

/**
 * The histogram's threshold line at p %: the (100 − p)-th percentile under the official rule; under "count", the
 * score of the last unit kept (+Infinity when none is).
 */
export function scoreThreshold(scores: Float32Array, percentKept: number, rule: KeepRule = "percentile"): number {
  if (rule === "percentile") return percentile(scores, 100 - percentKept);
  const kept = keptCount(percentKept, scores, "count");
  if (kept === 0) return Infinity;
  return scores[rankByScore(scores)[kept - 1]];
}
