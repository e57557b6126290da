import * as path from "path";
import { ClipNadError } from "../errors";
import { ClipModel } from "../clip/types";
import { Decomposition } from "../decompose";
import { Collection, checkCollectionModel, collect } from "../collect";
import { LabelledImages } from "../data/labelled";
import { normalizeRows } from "../util/rows";
import { TextEncoder } from "../text/templates";
import { canonicalSign } from "./linalg";
import { PairPCA, neuronPCA, pairPCsFromTopDeltas } from "./pca";
import { reconstructionAccuracy } from "./reconstruct";
import { AblationCurve, Histogram, KeepRule, ablationCurve, meanTopNorms, scoreHistogram, scoreThreshold } from "./sparsity";
import { zeroShotClassifier } from "./zeroshot";

/**
 * The paper's dataset-level zero-shot experiments (paper.md §A.4–A.6): a PCA collection (means, top-k images,
 * `collect`) defines each unit's mean and PCs; labelled evaluation images are collected into their own resumable
 * collection and streamed through the numeric analyses of this folder.
 */
export interface EvaluationInputs {
  /** The collection that defines means, PCs and scores (paper: 1,000 ImageNet test images). */
  collection: Collection;
  model: ClipModel;
  labelled: LabelledImages;
  /** Folder for the evaluation images' collection (resumed when it exists). */
  evalDir: string;
  limit?: number;
  stride?: number;
  batchSize?: number;
  /** Text encoder for the class embeddings (default: the model's text tower). */
  encodeText?: TextEncoder;
  /** Or ready class embeddings (classes × d, e.g. computed elsewhere); rows are L2-normalised here. */
  classEmbeddings?: Float32Array;
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface Evaluation {
  decomposition: Decomposition;
  evalCollection: Collection;
  labels: Int32Array;
  classifier: Float32Array;
}

export async function prepareEvaluation(inp: EvaluationInputs): Promise<Evaluation> {
  const { collection, model, labelled } = inp;
  checkCollectionModel(collection, model);
  const evalCollection = await collect({
    model,
    images: { root: labelled.root, items: labelled.items },
    outDir: inp.evalDir,
    limit: inp.limit,
    stride: inp.stride,
    batchSize: inp.batchSize,
    topK: collection.manifest.options.topK,
    onProgress: (e) => inp.onProgress?.(e.phase === "collect" ? "evaluation images" : `evaluation ${e.phase}`, e.done, e.total),
  });
  const labels = Int32Array.from(evalCollection.ids, (id) => labelled.labelOf.get(id) ?? -1);
  const d = collection.d;
  let classifier: Float32Array;
  if (inp.classEmbeddings) {
    if (inp.classEmbeddings.length !== labelled.classNames.length * d) {
      throw new ClipNadError(`class embeddings have ${inp.classEmbeddings.length} values, expected ${labelled.classNames.length} classes × d=${d}`);
    }
    classifier = normalizeRows(Float32Array.from(inp.classEmbeddings), d);
  } else {
    const encode = inp.encodeText ?? ((t: string[]) => model.encodeTexts(t));
    classifier = await zeroShotClassifier(labelled.classNames, encode, {
      onProgress: (done, total) => inp.onProgress?.("class embeddings", done, total),
    });
  }
  return { decomposition: await collection.decomposition(), evalCollection, labels, classifier };
}

/** PairPCA from the collection's stored top-k: the analytic direction ±w/|w|, majority sign of the top-k s−s̄. */
export function pairPCAFromCollection(col: Collection, dec: Decomposition): PairPCA {
  const { H, C } = col;
  const U = H * C;
  const { d, w, wNorms } = dec;
  const { k, indices, values, delta } = col.pairTopK;
  const sign = new Int8Array(U);
  for (let u = 0; u < U; u++) {
    if (!(values[u * k] > 0) || !(wNorms[u] > 0)) continue;
    const canon = canonicalSign(w, u * d, d);
    let positives = 0;
    for (let j = 0; j < k; j++) if (delta[u * k + j] * canon > 0) positives++;
    sign[u] = positives > k / 2 ? canon : -canon;
  }
  return { H, C, k, sBar: col.meanCoefficients, sign, topNorms: values, topImages: indices };
}

function describe(inp: EvaluationInputs, ev: Evaluation) {
  return {
    collection: path.resolve(inp.collection.dir),
    model: { name: inp.collection.manifest.model.name, hash: inp.model.hash },
    pcaImages: inp.collection.N,
    topK: inp.collection.k,
    evaluation: { dir: path.resolve(ev.evalCollection.dir), images: ev.evalCollection.N, skipped: ev.evalCollection.manifest.skipped.length },
    classes: inp.labelled.classNames,
  };
}

export interface ReconstructReport extends ReturnType<typeof describe> {
  analysis: "reconstruct";
  /**
   * Zero-shot top-1 accuracy: the unmodified model; every pair → mean + its empirical PC1 (the paper's procedure:
   * SVD of its top-k centred contributions, majority sign); the same with the analytic PC1 = ±w/|w| (the check:
   * a pair is rank-1, so both reproduce the unmodified model up to float error); neurons → mean + m PCs.
   */
  accuracy: { unmodified: number; pairs: number; pairsAnalytic: number; neurons: { pcs: number; accuracy: number }[] };
  /** Smallest |cos(empirical PC1, w/|w|)| over the varying pairs (1 up to float error). */
  minPairPCCosine: number;
  /** Pairs whose PC1 is defined (they vary over the PCA collection). */
  varyingPairs: number;
  pairs: number;
}

/** "Reconstruction from PCs": pairs with 1 PC vs neurons with 1/2/4 PCs vs the unmodified model. */
export async function reconstructReport(inp: EvaluationInputs, neuronK: number[] = [1, 2, 4]): Promise<ReconstructReport> {
  const ev = await prepareEvaluation(inp);
  const col = inp.collection;
  const dec = ev.decomposition;
  const pca = pairPCAFromCollection(col, dec);
  const top = col.pairTopK;
  inp.onProgress?.("pair PCs (top-k SVD)", 0, 1);
  const empirical = pairPCsFromTopDeltas(dec.w, top.delta, top.k).pcs;
  inp.onProgress?.("pair PCs (top-k SVD)", 1, 1);
  let minCos = 1;
  let varying = 0;
  for (let u = 0; u < pca.sign.length; u++) {
    if (pca.sign[u] === 0) continue;
    varying++;
    let dot = 0;
    for (let j = 0; j < dec.d; j++) dot += empirical[u * dec.d + j] * dec.w[u * dec.d + j];
    minCos = Math.min(minCos, Math.abs(dot) / dec.wNorms[u]);
  }
  const m = Math.max(...neuronK);
  const npca = neuronPCA(col, dec.w, dec.neuronGram, { topK: col.k, sBar: col.meanCoefficients, pcs: m });
  const ctx = { apw: dec.apw, w: dec.w, sBar: col.meanCoefficients, classifier: ev.classifier, bias: dec.bias };
  const res = reconstructionAccuracy(ev.evalCollection, ev.labels, ctx, {
    pairDirections: empirical, neuronPCs: { pcs: npca.pcs, m }, neuronK, onProgress: (d, t) => inp.onProgress?.("reconstruct", d, t),
  });
  const analytic = reconstructionAccuracy(ev.evalCollection, ev.labels, ctx, {
    pairPCA: pca, neuronK: [], onProgress: (d, t) => inp.onProgress?.("reconstruct (analytic check)", d, t),
  });
  return {
    analysis: "reconstruct",
    ...describe(inp, ev),
    accuracy: { unmodified: res.unmodified, pairs: res.pairs, pairsAnalytic: analytic.pairs, neurons: res.neurons },
    minPairPCCosine: minCos,
    varyingPairs: varying,
    pairs: pca.sign.length,
  };
}

export interface AblateReport extends ReturnType<typeof describe> {
  analysis: "ablate";
  /** Which units are kept at p %: "percentile" (the official rule) or "count". */
  rule: KeepRule;
  /** Accuracy vs percent of units kept (the rest mean-ablated), for pairs and for neurons. */
  curves: { pair: AblationCurve; neuron: AblationCurve };
  /** Score histograms (score = mean of the top-k centred norms), linear and log10, with the kept-set thresholds. */
  histograms: { pair: Histogram; pairLog: Histogram; neuron: Histogram };
  /** Score threshold per percent kept (the histogram's threshold line), pairs and neurons. */
  thresholds: { percentKept: number; pair: number; neuron: number }[];
}

export const DEFAULT_PERCENT_KEPT = [0, 1, 2, 5, 10, 20, 30, 50, 70, 100];

/** Mean-ablation curves (pairs vs neurons) with scores from the collection's top-k norms. */
export async function ablateReport(inp: EvaluationInputs, percentKept: number[] = DEFAULT_PERCENT_KEPT, opts: { bins?: number; rule?: KeepRule } = {}): Promise<AblateReport> {
  const ev = await prepareEvaluation(inp);
  const col = inp.collection;
  const rule = opts.rule ?? "percentile";
  const bins = opts.bins ?? 50;
  const pairScores = meanTopNorms(col.pairTopK.values, col.k);
  const neuronScores = meanTopNorms(col.neuronTopK.values, col.k);
  const dec = ev.decomposition;
  const ctx = { apw: dec.apw, sBar: col.meanCoefficients, classifier: ev.classifier, bias: dec.bias };
  const pair = ablationCurve(ev.evalCollection, ev.labels, ctx, {
    unit: "pair", scores: pairScores, percentKept, rule, onProgress: (d, t) => inp.onProgress?.("ablate pairs", d, t),
  });
  const neuron = ablationCurve(ev.evalCollection, ev.labels, ctx, {
    unit: "neuron", scores: neuronScores, percentKept, rule, onProgress: (d, t) => inp.onProgress?.("ablate neurons", d, t),
  });
  return {
    analysis: "ablate",
    ...describe(inp, ev),
    rule,
    curves: { pair, neuron },
    histograms: { pair: scoreHistogram(pairScores, bins), pairLog: scoreHistogram(pairScores, bins, true), neuron: scoreHistogram(neuronScores, bins) },
    thresholds: percentKept.map((p) => ({ percentKept: p, pair: scoreThreshold(pairScores, p, rule), neuron: scoreThreshold(neuronScores, p, rule) })),
  };
}
