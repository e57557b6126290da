import * as path from "path";
import { ClipNadError } from "../errors";
import { ClipModel } from "../clip/types";
import { encodeTexts } from "../clip/encode";
import { AttentionPoolWeights, embeddingBias, neuronGram, pairDirectionNorms, pairDirections } from "../decompose";
import {
  AblationCurve, Histogram, PairPCA, TextEncoder, ablationCurve, canonicalSign, meanTopNorms, neuronPCA,
  normalizeRows, reconstructionAccuracy, scoreHistogram, zeroShotClassifier,
} from "../analysis";
import { collect } from "./collect";
import { Collection } from "./collection";
import { LabelledImages } from "./labelled";

/**
 * The paper's collection-based analyses wired to collections on disk (paper.md §A.4–A.6):
 * the PCA collection (means, top-k) comes from `clip-nad collect`; the labelled evaluation images are collected
 * into their own (resumable) collection, then streamed through src/analysis.
 */
export interface EvaluationInputs {
  /** The collection that defines means, PCs and scores (paper: 1,000 ImageNet test images). */
  collection: Collection;
  model: ClipModel;
  labelled: LabelledImages;
  /** Folder for the evaluation images' collection (rerun resumes it). */
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
  apw: AttentionPoolWeights;
  evalCollection: Collection;
  labels: Int32Array;
  classifier: Float32Array;
}

export async function prepareEvaluation(inp: EvaluationInputs): Promise<Evaluation> {
  const { collection, model, labelled } = inp;
  if (collection.manifest.model.hash !== model.hash) {
    throw new ClipNadError(`collection was made with model ${collection.manifest.model.name} (sha256 ${collection.manifest.model.hash.slice(0, 12)}…), not ${model.name} (${model.hash.slice(0, 12)}…)`, { file: collection.dir });
  }
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
    const encode = inp.encodeText ?? ((t: string[]) => encodeTexts(model, t));
    classifier = await zeroShotClassifier(labelled.classNames, encode, {
      onProgress: (done, total) => inp.onProgress?.("class embeddings", done, total),
    });
  }
  return { apw: collection.weights, evalCollection, labels, classifier };
}

/** PairPCA from the collection's stored top-k (analytic direction ±w/|w|, majority sign of the top-k s−s̄). */
export function pairPCAFromCollection(col: Collection, w: Float32Array, wNorms: Float32Array): PairPCA {
  const { H, C } = col;
  const U = H * C;
  const d = w.length / U;
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
  /** Zero-shot top-1 accuracy of the unmodified model, with each pair → mean + PC1, with neurons → mean + m PCs. */
  accuracy: { unmodified: number; pairs: number; neurons: { pcs: number; accuracy: number }[] };
  /** Pairs whose PC1 is defined (they vary over the PCA collection). */
  varyingPairs: number;
  pairs: number;
}

/** "Reconstruction from PCs": pairs with 1 PC vs neurons with 1/2/4 PCs vs the unmodified model. */
export async function reconstructReport(inp: EvaluationInputs, neuronK: number[] = [1, 2, 4]): Promise<ReconstructReport> {
  const ev = await prepareEvaluation(inp);
  const col = inp.collection;
  const w = pairDirections(ev.apw);
  const wNorms = pairDirectionNorms(w, ev.apw.H, ev.apw.C, ev.apw.d);
  const pca = pairPCAFromCollection(col, w, wNorms);
  const m = Math.max(...neuronK);
  const npca = neuronPCA(col, w, neuronGram(w, ev.apw.H, ev.apw.C, ev.apw.d), { topK: col.k, sBar: col.meanCoefficients, pcs: m });
  const res = reconstructionAccuracy(
    ev.evalCollection,
    ev.labels,
    { apw: ev.apw, w, sBar: col.meanCoefficients, classifier: ev.classifier, bias: embeddingBias(ev.apw) },
    { pairPCA: pca, neuronPCs: { pcs: npca.pcs, m }, neuronK, onProgress: (d, t) => inp.onProgress?.("reconstruct", d, t) },
  );
  let varying = 0;
  for (const s of pca.sign) if (s !== 0) varying++;
  return {
    analysis: "reconstruct",
    ...describe(inp, ev),
    accuracy: { unmodified: res.unmodified, pairs: res.pairs, neurons: res.neurons },
    varyingPairs: varying,
    pairs: pca.sign.length,
  };
}

export interface AblateReport extends ReturnType<typeof describe> {
  analysis: "ablate";
  /** Accuracy vs percent of units kept (the rest mean-ablated), for pairs and for neurons. */
  curves: { pair: AblationCurve; neuron: AblationCurve };
  /** Score histograms (score = mean of the top-k centred norms), linear and log10. */
  histograms: { pair: Histogram; pairLog: Histogram; neuron: Histogram };
}

export const DEFAULT_PERCENT_KEPT = [0, 1, 2, 5, 10, 20, 30, 50, 70, 100];

/** Mean-ablation curves (pairs vs neurons) with scores from the collection's top-k norms. */
export async function ablateReport(inp: EvaluationInputs, percentKept: number[] = DEFAULT_PERCENT_KEPT, bins = 50): Promise<AblateReport> {
  const ev = await prepareEvaluation(inp);
  const col = inp.collection;
  const pairScores = meanTopNorms(col.pairTopK.values, col.k);
  const neuronScores = meanTopNorms(col.neuronTopK.values, col.k);
  const ctx = { apw: ev.apw, sBar: col.meanCoefficients, classifier: ev.classifier, bias: embeddingBias(ev.apw) };
  const pair = ablationCurve(ev.evalCollection, ev.labels, ctx, {
    unit: "pair", scores: pairScores, percentKept, onProgress: (d, t) => inp.onProgress?.("ablate pairs", d, t),
  });
  const neuron = ablationCurve(ev.evalCollection, ev.labels, ctx, {
    unit: "neuron", scores: neuronScores, percentKept, onProgress: (d, t) => inp.onProgress?.("ablate neurons", d, t),
  });
  return {
    analysis: "ablate",
    ...describe(inp, ev),
    curves: { pair, neuron },
    histograms: { pair: scoreHistogram(pairScores, bins), pairLog: scoreHistogram(pairScores, bins, true), neuron: scoreHistogram(neuronScores, bins) },
  };
}
