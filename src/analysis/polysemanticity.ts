import { ClipNadError } from "../errors";
import { Collection } from "../collect/collection";
import { NormKind, checkNormKind } from "../decompose";
import { RowLabels } from "./rowLabels";
import { TopImagesWeights, UnitTopTable, unitTopImages } from "./topImages";
import { collectionNormWeights } from "./subconcepts";

/**
 * Polysemanticity of units from their top images (paper.md §A.12):
 *  - v2 (the paper's final measure): the inertia Σ_j ‖e_j − ē‖² of the normalised embeddings e_j of a unit's
 *    top-k images (k = 10); lower = the images are alike = more monosemantic;
 *  - v1: the number of distinct WordNet super-classes among the top-k ImageNet images
 *    (assets/text/imagenet_idx_to_superclass.json: 551 class indices → 100 super-classes; images of the other
 *    449 classes are not counted);
 *  - on the toy world, the number of distinct values of each attribute (the dominant object's shape, colour, …)
 *    among the top-k: ground truth.
 * Numeric entry points on plain arrays (embeddings N×d, label vectors N, top rows units×k); the collection-level
 * `polysemanticity` runs the top-image pass (src/analysis/topImages) over all neurons and pairs first. The labels
 * come from src/analysis/rowLabels.
 */

/** Inertia of the normalised embeddings of each unit's top rows (units×k; −1 = no image: fewer terms). */
export function topImageInertia(embeddings: Float32Array, d: number, rows: Int32Array, k: number): Float32Array {
  if (!(d > 0) || embeddings.length % d !== 0) {
    throw new ClipNadError(`embeddings have ${embeddings.length} values, not rows of d = ${d}`);
  }
  if (rows.length % k !== 0) throw new ClipNadError(`top rows have ${rows.length} values, not units × k = ${k}`);
  const N = embeddings.length / d;
  const U = rows.length / k;
  const out = new Float32Array(U);
  const e = new Float64Array(k * d);
  const mean = new Float64Array(d);
  for (let u = 0; u < U; u++) {
    let m = 0;
    mean.fill(0);
    for (let j = 0; j < k; j++) {
      const r = rows[u * k + j];
      if (r < 0) continue;
      if (r >= N) throw new ClipNadError(`top row ${r} is outside the ${N} embeddings`);
      let nn = 0;
      for (let c = 0; c < d; c++) nn += embeddings[r * d + c] ** 2;
      const f = nn > 0 ? 1 / Math.sqrt(nn) : 0;
      for (let c = 0; c < d; c++) { const v = embeddings[r * d + c] * f; e[m * d + c] = v; mean[c] += v; }
      m++;
    }
    if (m === 0) { out[u] = NaN; continue; }
    for (let c = 0; c < d; c++) mean[c] /= m;
    let acc = 0;
    for (let j = 0; j < m; j++) for (let c = 0; c < d; c++) acc += (e[j * d + c] - mean[c]) ** 2;
    out[u] = acc;
  }
  return out;
}

/** Number of distinct labels (≥ 0; −1 = unlabelled, not counted) among each unit's top rows (units×k). */
export function distinctLabelCounts(labels: Int32Array, rows: Int32Array, k: number): Int32Array {
  if (rows.length % k !== 0) throw new ClipNadError(`top rows have ${rows.length} values, not units × k = ${k}`);
  const U = rows.length / k;
  const out = new Int32Array(U);
  const seen = new Set<number>();
  for (let u = 0; u < U; u++) {
    seen.clear();
    for (let j = 0; j < k; j++) {
      const r = rows[u * k + j];
      if (r < 0) continue;
      if (r >= labels.length) throw new ClipNadError(`top row ${r} has no label (${labels.length} labels)`);
      if (labels[r] >= 0) seen.add(labels[r]);
    }
    out[u] = seen.size;
  }
  return out;
}

/**
 * A histogram of neurons and pairs on shared bins: `edges` (bins + 1; bin i = [edges[i], edges[i+1]), the last
 * one closed) and the counts of each unit kind.
 */
export interface UnitHistogram {
  edges: number[];
  neurons: number[];
  pairs: number[];
}

function counts(values: ArrayLike<number>, edges: number[]): number[] {
  const out = new Array(edges.length - 1).fill(0);
  const last = edges.length - 2;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || v < edges[0] || v > edges[last + 1]) continue;
    let b = 0;
    while (b < last && v >= edges[b + 1]) b++;
    out[b]++;
  }
  return out;
}

/** Equal-width bins over [0, max of both] (inertia ≥ 0). */
export function inertiaHistogram(neurons: ArrayLike<number>, pairs: ArrayLike<number>, bins = 30): UnitHistogram {
  let hi = 0;
  for (const a of [neurons, pairs]) {
    for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]) && a[i] > hi) hi = a[i];
  }
  if (!(hi > 0)) hi = 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (hi * i) / bins);
  return { edges, neurons: counts(neurons, edges), pairs: counts(pairs, edges) };
}

/** Integer bins 0, 1, …, max (a count of distinct labels): edges i − 0.5. */
export function countHistogram(neurons: ArrayLike<number>, pairs: ArrayLike<number>, max: number): UnitHistogram {
  const edges = Array.from({ length: max + 2 }, (_, i) => i - 0.5);
  return { edges, neurons: counts(neurons, edges), pairs: counts(pairs, edges) };
}

/** Neurons vs pairs in numbers: means over units and how many pairs lie at or below the neurons' median. */
export interface MeasureSummary {
  neuronMean: number;
  pairMean: number;
  neuronMedian: number;
  pairMedian: number;
  /** Fraction of pairs whose value is ≤ the neurons' median (0.5 = the same distribution; more = pairs lower). */
  pairsAtOrBelowNeuronMedian: number;
}

/** One measure for every neuron (C) and pair (H rows of C). */
export interface UnitMeasure {
  neurons: number[];
  pairs: number[][];
  histogram: UnitHistogram;
  summary: MeasureSummary;
}

export interface PolysemanticityReport {
  model: { name: string; hash: string };
  norm: NormKind;
  top: number;
  images: number;
  /** Inertia of the top images' normalised embeddings (v2): C values. */
  neurons: number[];
  /** Inertia per pair: H rows of C. */
  pairs: number[][];
  histograms: { inertia: UnitHistogram } & Record<string, UnitHistogram>;
  /** Neurons vs pairs per measure ("inertia" and each label kind). */
  summaries: Record<string, MeasureSummary>;
  /** Distinct-label counts among the top images, per label kind (v1 super-classes, toy attributes). */
  labels: Record<string, UnitMeasure>;
}

function median(values: number[]): number {
  const f = values.filter(Number.isFinite).sort((x, y) => x - y);
  return f.length ? (f[(f.length - 1) >> 1] + f[f.length >> 1]) / 2 : NaN;
}

export function summarize(neurons: ArrayLike<number>, pairs: ArrayLike<number>): MeasureSummary {
  const n = Array.from(neurons).filter(Number.isFinite), p = Array.from(pairs).filter(Number.isFinite);
  const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);
  const nm = median(n);
  return {
    neuronMean: mean(n), pairMean: mean(p), neuronMedian: nm, pairMedian: median(p),
    pairsAtOrBelowNeuronMedian: p.length ? p.filter((v) => v <= nm).length / p.length : NaN,
  };
}

function byHead(values: ArrayLike<number>, H: number, C: number): number[][] {
  return Array.from({ length: H }, (_, h) => Array.from({ length: C }, (_, n) => values[h * C + n]));
}

export interface PolysemanticityOptions {
  /** Top images per unit (default 10, as the paper). */
  top?: number;
  /** Default "raw" (the retrieval norm of §A.11; the paper's v2 choice is not determinable). */
  norm?: NormKind;
  weights?: TopImagesWeights;
  /** Label kinds to count distinct values of (imagenetSuperclassLabels, toyAttributeLabels). */
  labels?: RowLabels[];
  bins?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Top-k images of every neuron and pair (one pass), then inertia and distinct-label counts per unit. */
export async function polysemanticity(
  collection: Collection, opts: PolysemanticityOptions = {},
): Promise<PolysemanticityReport> {
  const norm = checkNormKind(opts.norm ?? "raw");
  const { H, C, d, N } = collection;
  const top = await unitTopImages(collection, opts.weights ?? (await collectionNormWeights(collection)), {
    k: opts.top ?? 10, norm, mean: norm === "centred" ? collection.meanCoefficients : undefined, heads: [],
    onProgress: opts.onProgress,
  });
  const k = top.k;
  const emb = collection.embeddings;
  const inertia = (t: UnitTopTable) => topImageInertia(emb, d, t.rows, k);
  const ni = inertia(top.neurons), pi = inertia(top.pairs);
  const report: PolysemanticityReport = {
    model: { name: collection.manifest.model.name, hash: collection.manifest.model.hash },
    norm, top: k, images: N,
    neurons: Array.from(ni),
    pairs: byHead(pi, H, C),
    histograms: { inertia: inertiaHistogram(ni, pi, opts.bins) },
    summaries: { inertia: summarize(ni, pi) },
    labels: {},
  };
  for (const lab of opts.labels ?? []) {
    if (lab.values.length !== N) {
      throw new ClipNadError(`labels '${lab.name}' have ${lab.values.length} rows, the collection ${N}`);
    }
    const nc = distinctLabelCounts(lab.values, top.neurons.rows, k);
    const pc = distinctLabelCounts(lab.values, top.pairs.rows, k);
    const hist = countHistogram(nc, pc, Math.min(k, lab.classes));
    const summary = summarize(nc, pc);
    report.labels[lab.name] = { neurons: Array.from(nc), pairs: byHead(pc, H, C), histogram: hist, summary };
    report.histograms[lab.name] = hist;
    report.summaries[lab.name] = summary;
  }
  return report;
}
