import * as path from "path";
import { ClipNadError } from "../errors";
import { Pair, RankedPair, pairAt, pairIndex } from "../decompose/units";
import { Collection } from "../collect/collection";
import { ShiftLabel } from "../data/shiftLabels";
import { TextEncoder, templateEmbeddings } from "../text/templates";
import { topIndices } from "../util/topk";
import { pairPCAFromCollection } from "./evaluation";
import { CoefficientRows } from "./rows";
import { Correlation, pearson, pointBiserial } from "./stats";

/**
 * Distribution-shift monitoring with concept pairs (paper.md §A.10).
 *  - Concept pairs: the top-k pairs by ⟨r̂^{n,h}, t⟩, r̂ = a pair's signed first PC (±w/|w|, the collection's majority
 *    sign: `pairPCAFromCollection`), t = the concept embedded with the 80 templates, not centred.
 *  - Per-image score ρ(I) = ‖Σ_{top-k} r^{n,h}(I)‖ / ‖Σ_all r^{n,h}(I)‖ with raw contributions r = s·w + c (bias
 *    shares included); Σ_all r = M(I), the stored embedding. The numerator comes from the k stored scalars s_p:
 *    ‖Σ_p (s_p w_p + c_p)‖² = sᵀ G s + 2 sᵀ g + |b|²  with G = [w_p·w_q], b = Σ_p c_p, g_p = w_p·b  (k×k weight-only
 *    tables), so no contribution vector is ever formed: O(k²) per image.
 *  - The point-biserial r between a binary per-image label and ρ, its p-value, and per-group means (years).
 */

/** What the scores need of the decomposition: w (H×C×d), c (H×d). A `Decomposition` is one. */
export interface PairDirectionTables {
  H: number;
  C: number;
  d: number;
  w: Float32Array;
  c: Float32Array;
}

/**
 * ⟨r̂^{n,h}, t/|t|⟩ for every pair (H×C): sign · (w·t) / (|w| |t|). `wDotT` = w·t (H×C, `Decomposition.textTables`),
 * `sign` = the PC's sign per pair (0 where the pair never varies: NaN score, never chosen).
 */
export function conceptPairScores(
  wDotT: Float32Array,
  wNorms: Float32Array,
  sign: Int8Array,
  tNorm: number,
): Float32Array {
  if (wDotT.length !== wNorms.length || sign.length !== wNorms.length) {
    throw new ClipNadError(
      `concept pair scores: w·t (${wDotT.length}), |w| (${wNorms.length}) and signs (${sign.length}) must all be H×C`
    );
  }
  if (!(tNorm > 0)) throw new ClipNadError("the concept embedding is zero");
  const out = new Float32Array(wDotT.length);
  for (let p = 0; p < out.length; p++) {
    out[p] = sign[p] !== 0 && wNorms[p] > 0 ? (sign[p] * wDotT[p]) / (wNorms[p] * tNorm) : NaN;
  }
  return out;
}

/** The k best pairs by an H×C score (NaN never chosen), best first. */
export function topConceptPairs(scores: Float32Array, shape: { H: number; C: number }, k: number): RankedPair[] {
  if (!Number.isInteger(k) || k < 1) throw new ClipNadError(`k must be a positive integer, got ${k}`);
  const top = topIndices(scores, k);
  if (top.length < k) {
    throw new ClipNadError(`only ${top.length} pairs vary over the collection; cannot choose k = ${k}`);
  }
  return top.map((p) => ({ ...pairAt(shape, p), score: scores[p] }));
}

/** The weight-only tables of ‖Σ_{p∈P} r^p‖²: G (k×k), g (k), |b|² and the pairs' indices h·C + n. */
export interface PairSumTables {
  index: Int32Array;
  gram: Float64Array;
  g: Float64Array;
  bNorm2: number;
}

export function pairSumTables(t: PairDirectionTables, pairs: readonly Pair[]): PairSumTables {
  const { d, w, c } = t;
  const k = pairs.length;
  if (k === 0) throw new ClipNadError("no pairs to sum");
  if (w.length !== t.H * t.C * d || c.length !== t.H * d) {
    throw new ClipNadError(`pair tables must be w H×C×d and c H×d (H=${t.H}, C=${t.C}, d=${d})`);
  }
  const index = Int32Array.from(pairs, (p) => pairIndex(t, p));
  if (new Set(index).size !== k) throw new ClipNadError("the pairs repeat a pair");
  const b = new Float64Array(d);
  for (const p of pairs) for (let j = 0; j < d; j++) b[j] += c[p.head * d + j];
  const gram = new Float64Array(k * k);
  const g = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    const oa = index[a] * d;
    for (let j = 0; j < d; j++) g[a] += w[oa + j] * b[j];
    for (let q = a; q < k; q++) {
      const oq = index[q] * d;
      let acc = 0;
      for (let j = 0; j < d; j++) acc += w[oa + j] * w[oq + j];
      gram[a * k + q] = acc;
      gram[q * k + a] = acc;
    }
  }
  let bNorm2 = 0;
  for (let j = 0; j < d; j++) bNorm2 += b[j] * b[j];
  return { index, gram, g, bNorm2 };
}

/** ‖Σ_{p∈P} (s_p w_p + c_p)‖ from one image's s (H×C). */
export function pairSumNorm(tables: PairSumTables, s: ArrayLike<number>): number {
  const { index, gram, g, bNorm2 } = tables;
  const k = index.length;
  let q = bNorm2;
  for (let a = 0; a < k; a++) {
    const sa = s[index[a]];
    let row = 0;
    for (let b = 0; b < k; b++) row += gram[a * k + b] * s[index[b]];
    q += sa * row + 2 * sa * g[a];
  }
  return Math.sqrt(Math.max(0, q));
}

export interface ConceptScoreOptions {
  /** Score only these rows (default all), in this order. */
  rows?: ArrayLike<number>;
  onProgress?: (done: number, total: number) => void;
}

/**
 * ρ(I) for the chosen rows: ‖Σ_{p∈P} r^p(I)‖ / ‖M(I)‖, streaming s row by row (memory O(k² + d)).
 * `embeddings` = M(I) per row (N×d).
 */
export function conceptScores(
  rows: CoefficientRows,
  embeddings: Float32Array,
  t: PairDirectionTables,
  pairs: readonly Pair[],
  opts: ConceptScoreOptions = {},
): Float64Array {
  const { d } = t;
  if (rows.H !== t.H || rows.C !== t.C) {
    throw new ClipNadError(`coefficients are H×C = ${rows.H}×${rows.C}, the pair tables ${t.H}×${t.C}`);
  }
  if (embeddings.length !== rows.N * d) {
    throw new ClipNadError(`embeddings have ${embeddings.length} values, expected N×d = ${rows.N}×${d}`);
  }
  const tables = pairSumTables(t, pairs);
  const which = opts.rows ?? Array.from({ length: rows.N }, (_, i) => i);
  const out = new Float64Array(which.length);
  const every = Math.max(1, Math.floor(which.length / 100));
  for (let q = 0; q < which.length; q++) {
    const i = which[q];
    if (!(Number.isInteger(i) && i >= 0 && i < rows.N)) {
      throw new ClipNadError(`row ${i} out of range 0..${rows.N - 1}`);
    }
    let m = 0;
    for (let j = 0; j < d; j++) m += embeddings[i * d + j] ** 2;
    if (!(m > 0)) throw new ClipNadError(`image row ${i} has a zero embedding; ρ is undefined`);
    out[q] = pairSumNorm(tables, rows.row(i)) / Math.sqrt(m);
    if ((q + 1) % every === 0 || q + 1 === which.length) opts.onProgress?.(q + 1, which.length);
  }
  return out;
}

/** Mean score and label share of one group (e.g. a year). */
export interface GroupMean {
  group: string;
  images: number;
  positives: number;
  /** Fraction of the group's images labelled 1. */
  share: number;
  meanScore: number;
}

/** Per-group means, groups in numeric order when every group is a number, else in code-point order. */
export function groupMeans(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  groups: readonly (string | undefined)[],
): GroupMean[] {
  const acc = new Map<string, { images: number; positives: number; sum: number }>();
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (g === undefined) continue;
    const a = acc.get(g) ?? { images: 0, positives: 0, sum: 0 };
    a.images++;
    a.positives += labels[i];
    a.sum += scores[i];
    acc.set(g, a);
  }
  const keys = [...acc.keys()];
  const numeric = keys.every((k) => k.trim() !== "" && Number.isFinite(Number(k)));
  keys.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((group) => {
    const a = acc.get(group)!;
    return {
      group,
      images: a.images,
      positives: a.positives,
      share: a.positives / a.images,
      meanScore: a.sum / a.images,
    };
  });
}

export interface ShiftInputs {
  collection: Collection;
  /** The concept: a text (embedded with the templates) or a ready embedding (d values). */
  concept: string | Float32Array;
  /** Text encoder for a text concept (e.g. `(t) => model.encodeTexts(t)`). */
  encodeText?: TextEncoder;
  /** Templates for a text concept (default: the 80 OpenAI ImageNet templates). */
  templates?: string[];
  /**
   * Not the paper's setting (it does not centre t): subtract the mean template embedding of these texts (e.g. the
   * concept's siblings, "red", "green", …) from t before choosing pairs, removing what all of them share.
   */
  centreOver?: string[];
  labels: readonly ShiftLabel[];
  /** Where the labels came from (named in errors). */
  labelsFile?: string;
  /** Concept pairs (default 5). */
  k?: number;
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface ShiftReport {
  analysis: "shift";
  collection: string;
  model: { name: string; hash: string };
  concept: string | null;
  /** The texts t was centred over (null: not centred, the paper's setting). */
  centredOver: string[] | null;
  k: number;
  /** The concept pairs, best first; score = ⟨r̂^{n,h}, t/|t|⟩. */
  pairs: RankedPair[];
  /** Labelled images, in collection order; `labels`, `groups` and `scores` (ρ) are aligned with it. */
  images: string[];
  labels: number[];
  groups: (string | null)[];
  scores: number[];
  /** Point-biserial r between label and ρ over the labelled images, and its two-sided p-value. */
  r: number;
  p: number;
  n: number;
  /** Mean ρ of the images labelled 1 and 0. */
  meanScore: { positive: number; negative: number };
  groupMeans: GroupMean[];
  /** Pearson r over groups between the label share and the mean ρ (null with fewer than 3 varying groups). */
  groupCorrelation: Correlation | null;
  /** Collection images without a label (not scored). */
  unlabelled: number;
}

/** t: the concept's template embedding (or the given one), minus the mean embedding of `centreOver` when given. */
export async function conceptEmbedding(
  inp: Pick<ShiftInputs, "concept" | "encodeText" | "templates" | "centreOver">,
  d: number,
): Promise<Float32Array> {
  const c = inp.concept;
  let t: Float32Array;
  if (typeof c === "string") {
    if (!c.trim()) throw new ClipNadError("the concept text is empty");
    if (!inp.encodeText) {
      throw new ClipNadError("a text concept needs a text encoder (or pass the concept's embedding)");
    }
    t = await templateEmbeddings([c.trim()], inp.encodeText, { templates: inp.templates });
  } else {
    if (!(c instanceof Float32Array) || c.length !== d) {
      throw new ClipNadError(`the concept embedding must have d = ${d} values, got ${c?.length}`);
    }
    for (let j = 0; j < d; j++) {
      if (!Number.isFinite(c[j])) throw new ClipNadError(`concept embedding value ${j} is not finite`);
    }
    t = c.slice();
  }
  if (inp.centreOver !== undefined) {
    const texts = inp.centreOver.map((x) => x.trim());
    if (texts.length === 0 || texts.some((x) => !x)) {
      throw new ClipNadError("the texts to centre the concept over must be non-empty");
    }
    if (!inp.encodeText) throw new ClipNadError("centring the concept needs a text encoder");
    const E = await templateEmbeddings(texts, inp.encodeText, { templates: inp.templates });
    if (E.length !== texts.length * d) {
      throw new ClipNadError(
        `the text encoder gives ${E.length / texts.length} values per text, the collection d = ${d}`
      );
    }
    for (let r = 0; r < texts.length; r++) for (let j = 0; j < d; j++) t[j] -= E[r * d + j] / texts.length;
  }
  return t;
}

/** Join labels to collection rows by image id; every labelled image must be in the collection. */
export function labelRows(
  ids: readonly string[],
  labels: readonly ShiftLabel[],
  file?: string,
  imageRoot?: string,
): Int32Array {
  const rowOf = new Map(ids.map((id, i) => [id, i] as [string, number]));
  const missing = labels.filter((l) => !rowOf.has(l.image)).map((l) => l.image);
  if (missing.length > 0) {
    const eg = missing.slice(0, 3).map((m) => `'${m}'`).join(", ");
    const seen = ids.slice(0, 2).map((m) => `'${m}'`).join(", ");
    const more = missing.length > 3 ? ", …" : "";
    throw new ClipNadError(
      `${missing.length} of ${labels.length} labelled images are not in the collection (${eg}${more}); image ids are `
        + `paths relative to the collection's image root${imageRoot ? ` ${imageRoot}` : ""}, e.g. ${seen}`,
      { file, key: missing[0] },
    );
  }
  return Int32Array.from(labels, (l) => rowOf.get(l.image)!).sort();
}

/** The monitor on a collection: concept pairs, ρ per labelled image, point-biserial r and p, group means. */
export async function shiftReport(inp: ShiftInputs): Promise<ShiftReport> {
  const col = inp.collection;
  const k = inp.k ?? 5;
  const byImage = new Map(inp.labels.map((l) => [l.image, l] as [string, ShiftLabel]));
  if (byImage.size !== inp.labels.length) {
    throw new ClipNadError("the labels name an image twice", { file: inp.labelsFile });
  }
  const rows = labelRows(col.ids, inp.labels, inp.labelsFile, col.manifest.images.root);
  const ordered = Array.from(rows, (r) => byImage.get(col.ids[r])!);
  const labels = ordered.map((l) => l.label);
  const positives = labels.reduce<number>((a, b) => a + b, 0);
  if (positives === 0 || positives === labels.length) {
    throw new ClipNadError(
      `every label is ${positives ? 1 : 0} (${labels.length} images); `
        + "the point-biserial r is undefined for a constant label",
      { file: inp.labelsFile, key: "label" },
    );
  }
  const dec = await col.decomposition();
  inp.onProgress?.("concept embedding", 0, 1);
  const t = await conceptEmbedding(inp, dec.d);
  inp.onProgress?.("concept embedding", 1, 1);
  let tNorm = 0;
  for (let j = 0; j < dec.d; j++) tNorm += t[j] * t[j];
  const sign = pairPCAFromCollection(col, dec).sign;
  const scoresHC = conceptPairScores(dec.textTables(t).wDotT, dec.wNorms, sign, Math.sqrt(tNorm));
  const pairs = topConceptPairs(scoresHC, dec, k);
  const onProgress = (done: number, total: number) => inp.onProgress?.("scores", done, total);
  const rho = conceptScores(col, col.embeddings, dec, pairs, { rows, onProgress });
  const corr = pointBiserial(labels, rho);
  const mean = (want: number) => {
    let s = 0, n = 0;
    labels.forEach((l, i) => { if (l === want) { s += rho[i]; n++; } });
    return s / n;
  };
  const groups = ordered.map((l) => l.group);
  const gm = groupMeans(labels, rho, groups);
  let groupCorrelation: Correlation | null = null;
  const varying = (xs: number[]) => xs.some((x) => x !== xs[0]);
  if (gm.length >= 3 && varying(gm.map((g) => g.share)) && varying(gm.map((g) => g.meanScore))) {
    groupCorrelation = pearson(gm.map((g) => g.share), gm.map((g) => g.meanScore), "group correlation");
  }
  return {
    analysis: "shift",
    collection: path.resolve(col.dir),
    model: { name: col.manifest.model.name, hash: col.manifest.model.hash },
    concept: typeof inp.concept === "string" ? inp.concept.trim() : null,
    centredOver: inp.centreOver ? inp.centreOver.map((x) => x.trim()) : null,
    k,
    pairs,
    images: ordered.map((l) => l.image),
    labels,
    groups: groups.map((g) => g ?? null),
    scores: Array.from(rho),
    r: corr.r,
    p: corr.p,
    n: corr.n,
    meanScore: { positive: mean(1), negative: mean(0) },
    groupMeans: gm,
    groupCorrelation,
    unlabelled: col.N - rows.length,
  };
}
