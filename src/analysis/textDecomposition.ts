import * as path from "path";
import { ClipNadError } from "../errors";
import { Collection } from "../collect";
import { Decomposition } from "../decompose";
import { TextDictionary, subDictionary } from "../text/dictionary";
import { pairPCAFromCollection, prepareEvaluation, EvaluationInputs } from "./evaluation";
import { headOutputs } from "./heads";
import {
  Matrix, OmpGram, SignalSource, SparseCodes, codeRow, codeRows, ompGram, reconstructRow, sparseEncode, topAtoms,
} from "./omp";
import { PairPCA, neuronPCA } from "./pca";
import { reconstructionAccuracy } from "./reconstruct";
import { linearEditAccuracy, neuronDirectionEdit, pairDirectionEdit } from "./linearEdit";
import { CoefficientRows } from "./rows";
import { TextSpanResult, textSpan, textSpanReconstruct } from "./textspan";
import { accuracy, predictOne } from "./zeroshot";

/**
 * The sparse text decomposition of every unit (paper.md §A.7) and what it is good for:
 *  - each pair's first PC ±w/|w| (sign by the collection's majority rule, pairPCAFromCollection) and each
 *    neuron's first PC (neuronPCA) written as a sparse signed sum of text atoms by OMP (sklearn semantics,
 *    src/analysis/omp) over a normalised dictionary (src/text/dictionary): labels = the words with the largest |γ|;
 *  - "reconstruction from sparse text representations" (Figure 2): every unit's PC replaced by normalize(γD) in
 *    the §A.5 reconstruction, means unchanged, zero-shot accuracy for pairs vs neurons;
 *  - TextSpan for attention-pool heads over the collection's images (r^h from s), and the accuracy when a head is
 *    replaced by its text reconstruction.
 */

/** A word with its signed OMP coefficient. */
export interface WordCoefficient {
  word: string;
  coefficient: number;
}

/** The PC signals of every pair (H·C rows, pair index h·C + n: sign·w/|w|, zero where the pair never varies). */
export function pairPCSignals(pca: PairPCA, dec: Decomposition): SignalSource {
  const { d, w, wNorms } = dec;
  return {
    N: pca.H * pca.C,
    d,
    rows(start, count) {
      const out = new Float32Array(count * d);
      for (let q = 0; q < count; q++) {
        const u = start + q;
        if (pca.sign[u] === 0 || !(wNorms[u] > 0)) continue;
        const f = pca.sign[u] / wNorms[u];
        for (let j = 0; j < d; j++) out[q * d + j] = w[u * d + j] * f;
      }
      return out;
    },
  };
}

/** Rows of several sources one after another. */
function concatSources(parts: SignalSource[]): SignalSource {
  const d = parts[0].d;
  const N = parts.reduce((a, p) => a + p.N, 0);
  return {
    N,
    d,
    rows(start, count) {
      const out = new Float32Array(count * d);
      let offset = 0;
      for (const p of parts) {
        const a = Math.max(start, offset),
          b = Math.min(start + count, offset + p.N);
        if (a < b) out.set(p.rows(a - offset, b - a), (a - start) * d);
        offset += p.N;
      }
      return out;
    },
  };
}

export interface UnitSignals {
  pca: PairPCA;
  /** Pair PC signals (H·C × d, streamed). */
  pairs: SignalSource;
  /** Neuron first PCs (C × d, unit norm, majority-signed). */
  neurons: Matrix;
}

/** The PCs the text decomposition explains: pairs (analytic, majority sign of the collection's top-k) and neurons. */
export function unitSignals(collection: Collection, dec: Decomposition): UnitSignals {
  const pca = pairPCAFromCollection(collection, dec);
  const npca = neuronPCA(collection, dec.w, dec.neuronGram, {
    topK: collection.k,
    sBar: collection.meanCoefficients,
    pcs: 1,
  });
  return { pca, pairs: pairPCSignals(pca, dec), neurons: { data: npca.pcs, rows: collection.C, cols: dec.d } };
}

export interface UnitCodes {
  pairs: SparseCodes;
  neurons: SparseCodes;
}

export interface UnitCodeOptions {
  nonzero: number;
  gram?: OmpGram;
  /** Resumable work folder (chunk files); removed on success. */
  workDir?: string;
  /** Identity of the signals for the resume check (default: the collection folder and model hash). */
  identity?: string;
  onProgress?: (done: number, total: number) => void;
}

/** OMP codes of every pair's and every neuron's PC over the dictionary's atoms (one Gram, one run). */
export async function unitCodes(signals: UnitSignals, atoms: Matrix, opts: UnitCodeOptions): Promise<UnitCodes> {
  const all = concatSources([
    signals.pairs,
    {
      N: signals.neurons.rows,
      d: signals.neurons.cols,
      rows: (s, c) => signals.neurons.data.subarray(s * signals.neurons.cols, (s + c) * signals.neurons.cols),
    },
  ]);
  const codes = await sparseEncode(atoms, all, {
    nonzero: opts.nonzero,
    precision: "float32",
    gram: opts.gram,
    workDir: opts.workDir,
    identity: opts.identity,
    onProgress: opts.onProgress,
  });
  const P = signals.pairs.N;
  return { pairs: codeRows(codes, 0, P), neurons: codeRows(codes, P, signals.neurons.rows) };
}

/** normalize(γ·D) of every row (rows × d float32; zero for an empty code). */
export function textDirections(codes: SparseCodes, atoms: Matrix): Float32Array {
  const d = atoms.cols;
  if (atoms.rows !== codes.K)
    throw new ClipNadError(`codes are over ${codes.K} atoms, the dictionary has ${atoms.rows}`);
  const out = new Float32Array(codes.N * d);
  for (let r = 0; r < codes.N; r++) {
    if (codes.indptr[r + 1] === codes.indptr[r]) continue;
    const acc = reconstructRow(codes, r, atoms);
    let n = 0;
    for (let c = 0; c < d; c++) n += acc[c] * acc[c];
    n = Math.sqrt(n);
    if (n > 0) for (let c = 0; c < d; c++) out[r * d + c] = acc[c] / n;
  }
  return out;
}

/** The k words of row r with the largest |γ|, signed. */
export function topWords(codes: SparseCodes, r: number, words: readonly string[], k: number): WordCoefficient[] {
  return topAtoms(codes, r, k).map((a) => ({ word: words[a.atom], coefficient: a.coefficient }));
}

/** Every unit's words: what `clip-nad text-decompose` writes as labels.json and the browser shows. */
export interface TextLabels {
  format: "clip-nad-text-labels/1";
  model: { name: string; hash: string };
  collection: string;
  dictionary: { words: number; templates: number; normalisation: string; file?: string };
  nonzero: number;
  /** Every pair, in pair-index order (h·C + n). */
  pairs: { neuron: number; head: number; words: WordCoefficient[] }[];
  neurons: { neuron: number; words: WordCoefficient[] }[];
  heads: { head: number; texts: { text: string; variance: number; fraction: number }[] }[];
  textSpan?: { iterations: number; rank: number; images: number };
}

export function unitLabels(
  codes: UnitCodes,
  words: readonly string[],
  C: number,
  top: number,
): Pick<TextLabels, "pairs" | "neurons"> {
  const pairs = Array.from({ length: codes.pairs.N }, (_, u) => ({
    neuron: u % C,
    head: Math.floor(u / C),
    words: topWords(codes.pairs, u, words, top),
  }));
  const neurons = Array.from({ length: codes.neurons.N }, (_, n) => ({
    neuron: n,
    words: topWords(codes.neurons, n, words, top),
  }));
  return { pairs, neurons };
}

export interface HeadSpanOptions {
  iterations: number;
  /** Rank of each head's output span (default: the head dimension dh, the rank of W_O^h W_V^h). */
  rank?: number;
  onProgress?: (done: number, total: number) => void;
}

/** TextSpan of every head over the images of `rows` (r^h from s) with the given texts (T × d). */
export async function headTextSpans(
  rows: CoefficientRows,
  dec: Decomposition,
  texts: Matrix,
  opts: HeadSpanOptions,
): Promise<TextSpanResult[]> {
  const { H, d } = dec;
  const R = await headOutputs(rows, dec.apw);
  const rank = opts.rank ?? dec.apw.dh;
  const out: TextSpanResult[] = [];
  for (let h = 0; h < H; h++) {
    out.push(
      textSpan({ data: R.subarray(h * rows.N * d, (h + 1) * rows.N * d), rows: rows.N, cols: d }, texts, {
        iterations: opts.iterations,
        rank,
      }),
    );
    opts.onProgress?.(h + 1, H);
  }
  return out;
}

export function headLabels(spans: TextSpanResult[], words: readonly string[]): TextLabels["heads"] {
  return spans.map((s, h) => ({
    head: h,
    texts: s.chosen.map((t, i) => ({
      text: words[t],
      variance: s.variance[i],
      fraction: s.variance[i] / s.totalVariance,
    })),
  }));
}

export interface HeadReplacementAccuracy {
  unmodified: number;
  /** Accuracy with head h alone replaced by its TextSpan reconstruction. */
  perHead: number[];
  /** Accuracy with every head replaced at once. */
  allHeads: number;
}

/**
 * Zero-shot accuracy when heads are replaced by their TextSpan reconstructions mean + P(r^h − mean), fitted on the
 * PCA collection and applied to the evaluation images: one head at a time, and all at once (M = Σ_h r^h exactly).
 */
export async function headReplacementAccuracy(
  rows: CoefficientRows,
  labels: ArrayLike<number>,
  dec: Decomposition,
  classifier: Float32Array,
  spans: TextSpanResult[],
  opts: { onProgress?: (done: number, total: number) => void } = {},
): Promise<HeadReplacementAccuracy> {
  const { H, d } = dec;
  const N = rows.N;
  if (spans.length !== H) throw new ClipNadError(`${spans.length} head spans for ${H} heads`);
  const R = await headOutputs(rows, dec.apw);
  const rec = spans.map((s, h) => textSpanReconstruct(s, R.subarray(h * N * d, (h + 1) * N * d), N));
  const predU = new Int32Array(N),
    predAll = new Int32Array(N);
  const predH = spans.map(() => new Int32Array(N));
  const scratch = new Float64Array(classifier.length / d);
  const M = new Float64Array(d),
    all = new Float64Array(d),
    edited = new Float64Array(d);
  for (let i = 0; i < N; i++) {
    // M = Σ_h r^h exactly (the head biases add up to the embedding bias): no second forward through the pool
    M.fill(0);
    all.fill(0);
    for (let h = 0; h < H; h++) for (let j = 0, o = (h * N + i) * d; j < d; j++) M[j] += R[o + j];
    predU[i] = predictOne(M, classifier, scratch);
    for (let h = 0; h < H; h++) {
      const o = (h * N + i) * d;
      for (let j = 0; j < d; j++) {
        edited[j] = M[j] - R[o + j] + rec[h][i * d + j];
        all[j] += rec[h][i * d + j];
      }
      predH[h][i] = predictOne(edited, classifier, scratch);
    }
    predAll[i] = predictOne(all, classifier, scratch);
    opts.onProgress?.(i + 1, N);
  }
  return {
    unmodified: accuracy(predU, labels),
    perHead: predH.map((p) => accuracy(p, labels)),
    allHeads: accuracy(predAll, labels),
  };
}

export interface TextReconstructionPoint {
  /** Dictionary size (words). */
  words: number;
  /** Non-zero coefficients per unit (m). */
  nonzero: number;
  pairs: number;
  neurons: number;
  /** Units whose pursuit ended early (fewer than m words), pairs + neurons. */
  earlyStops: number;
}

export interface TextReconstructReport {
  analysis: "text-reconstruct";
  collection: string;
  model: { name: string; hash: string };
  pcaImages: number;
  evaluation: { dir: string; images: number };
  classes: string[];
  /** The same reconstruction with the PCs themselves (pairs: analytic ±w/|w| = the unmodified model; neurons: 1 PC). */
  accuracy: { unmodified: number; pairsPC: number; neuronsPC: number };
  points: TextReconstructionPoint[];
  dictionary: { sizes: number[]; templates: number; note: string };
}

export interface TextReconstructOptions {
  /** The largest dictionary; smaller sizes are its first words (nested seeded subsets: dictionaryWords). */
  dictionary: TextDictionary;
  sizes: number[];
  nonzero: number[];
  templates: number;
  note?: string;
  /** Work folder for resumable OMP runs (one sub-folder per size and m). */
  workDir?: string;
  onProgress?: (phase: string, done: number, total: number) => void;
}

/**
 * Figure 2: "reconstruction from sparse text representations". For each dictionary size and m: every pair's PC and
 * every neuron's first PC replaced by normalize(γD) in the §A.5 reconstruction (means unchanged); zero-shot
 * accuracy on the evaluation images. Pairs vs neurons, beside the same reconstruction with the PCs themselves.
 */
export async function textReconstructReport(
  inp: EvaluationInputs,
  opts: TextReconstructOptions,
): Promise<TextReconstructReport> {
  const ev = await prepareEvaluation(inp);
  const col = inp.collection;
  const dec = ev.decomposition;
  const sig = unitSignals(col, dec);
  const ctx = { apw: dec.apw, w: dec.w, sBar: col.meanCoefficients, classifier: ev.classifier, bias: dec.bias };
  const report = opts.onProgress ?? inp.onProgress;
  const progress = (phase: string) => (done: number, total: number) => report?.(phase, done, total);
  const base = reconstructionAccuracy(ev.evalCollection, ev.labels, ctx, {
    pairPCA: sig.pca,
    neuronPCs: { pcs: sig.neurons.data as Float32Array, m: 1 },
    neuronK: [1],
    onProgress: progress("reconstruct with the PCs"),
  });
  const sizes = [...opts.sizes].sort((a, b) => a - b);
  if (sizes[sizes.length - 1] > opts.dictionary.words.length) {
    throw new ClipNadError(
      `dictionary sizes up to ${sizes[sizes.length - 1]} asked for, the dictionary has ` +
        `${opts.dictionary.words.length} words`,
    );
  }
  const points: TextReconstructionPoint[] = [];
  for (const size of sizes) {
    const sub = subDictionary(opts.dictionary, size);
    const atoms: Matrix = { data: sub.atoms, rows: size, cols: sub.d };
    report?.(`Gram matrix (${size} words)`, 0, 1);
    const gram = await ompGram(atoms, "float32");
    report?.(`Gram matrix (${size} words)`, 1, 1);
    for (const m of opts.nonzero) {
      if (m > size) continue;
      const codes = await unitCodes(sig, atoms, {
        nonzero: m,
        gram,
        workDir: opts.workDir ? path.join(opts.workDir, `words${size}-m${m}`) : undefined,
        identity: `${path.resolve(col.dir)}|${col.manifest.model.hash}|pair and neuron PCs`,
        onProgress: progress(`OMP: ${size} words, m = ${m}`),
      });
      // M̃ = M̄ + (s − s̄)·V for both units at once (linearEdit: one GEMM per chunk of images and unit)
      const res = await linearEditAccuracy(
        ev.evalCollection,
        ev.labels,
        ctx,
        [pairDirectionEdit(dec.w, textDirections(codes.pairs, atoms), dec.H * dec.C),
          neuronDirectionEdit(dec.w, textDirections(codes.neurons, atoms), dec.H, dec.C)],
        { onProgress: progress(`reconstruct: ${size} words, m = ${m}`) },
      );
      const early = (c: SparseCodes) => Object.values(c.earlyStops).reduce((a, b) => a + b, 0);
      points.push({
        words: size,
        nonzero: m,
        pairs: res.accuracy[0],
        neurons: res.accuracy[1],
        earlyStops: early(codes.pairs) + early(codes.neurons),
      });
    }
  }
  return {
    analysis: "text-reconstruct",
    collection: path.resolve(col.dir),
    model: { name: col.manifest.model.name, hash: col.manifest.model.hash },
    pcaImages: col.N,
    evaluation: { dir: path.resolve(ev.evalCollection.dir), images: ev.evalCollection.N },
    classes: inp.labelled.classNames,
    accuracy: { unmodified: base.unmodified, pairsPC: base.pairs, neuronsPC: base.neurons[0].accuracy },
    points,
    dictionary: { sizes, templates: opts.templates, note: opts.note ?? "" },
  };
}

export interface CollectionTextOptions {
  /** m for pairs and neurons (paper: 64). */
  nonzero: number;
  /** Words kept per unit in the labels (default 10). */
  topWords?: number;
  /** TextSpan per head over the collection's images (0 = skip; default 10 texts). */
  textSpanIterations?: number;
  /** Rank for TextSpan (default: the head dimension). */
  textSpanRank?: number;
  workDir?: string;
  /** For the labels' provenance. */
  dictionaryInfo?: { templates: number; file?: string };
  modelName?: string;
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface CollectionText {
  codes: UnitCodes;
  spans: TextSpanResult[];
  labels: TextLabels;
  signals: UnitSignals;
}

/**
 * The text decomposition of a collection's units: OMP codes of every pair's and neuron's PC, TextSpan texts of
 * every head (texts = the dictionary's unit embeddings), and the labels (top words with signed coefficients).
 */
export async function collectionText(
  collection: Collection,
  dictionary: TextDictionary,
  opts: CollectionTextOptions,
): Promise<CollectionText> {
  const dec = await collection.decomposition();
  if (dec.d !== dictionary.d)
    throw new ClipNadError(`the dictionary's embeddings have ${dictionary.d} dimensions, the model ${dec.d}`);
  const K = dictionary.words.length;
  const atoms: Matrix = { data: dictionary.atoms, rows: K, cols: dictionary.d };
  const signals = unitSignals(collection, dec);
  const progress = (phase: string) => (done: number, total: number) => opts.onProgress?.(phase, done, total);
  const codes = await unitCodes(signals, atoms, {
    nonzero: opts.nonzero,
    workDir: opts.workDir,
    identity: `${path.resolve(collection.dir)}|${collection.manifest.model.hash}|pair and neuron PCs`,
    onProgress: progress(`OMP (${K} words, m = ${opts.nonzero})`),
  });
  const iterations = opts.textSpanIterations ?? 10;
  const spans =
    iterations > 0
      ? await headTextSpans(
          collection,
          dec,
          { data: dictionary.embeddings, rows: K, cols: dictionary.d },
          { iterations, rank: opts.textSpanRank, onProgress: progress("TextSpan (heads)") },
        )
      : [];
  const labels: TextLabels = {
    format: "clip-nad-text-labels/1",
    model: { name: opts.modelName ?? collection.manifest.model.name, hash: collection.manifest.model.hash },
    collection: path.resolve(collection.dir),
    dictionary: {
      words: K,
      templates: opts.dictionaryInfo?.templates ?? 0,
      file: opts.dictionaryInfo?.file,
      normalisation: "mean over words subtracted, each dimension divided by its norm over words (paper.md §A.7)",
    },
    nonzero: opts.nonzero,
    ...unitLabels(codes, dictionary.words, collection.C, opts.topWords ?? 10),
    heads: headLabels(spans, dictionary.words),
    ...(iterations > 0
      ? { textSpan: { iterations, rank: opts.textSpanRank ?? dec.apw.dh, images: collection.N } }
      : {}),
  };
  return { codes, spans, labels, signals };
}
