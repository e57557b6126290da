/**
 * clip-nad — the neuron-attention decomposition of CLIP-ResNet (Bu & Gandelsman 2025), as one importable API.
 *
 *   import { loadModel } from "clip-nad";
 *   const model = await loadModel("toy");                 // "RN50" … "RN50x64", or a checkpoint path
 *   const image = await model.decompose("scene.png");     // image.Z, image.a, image.s, image.embedding
 *   image.pair({ neuron: 88, head: 2 });                  // r^{n,h}: that path's contribution (d)
 *   image.neuron(88); image.head(2);                      // r^n, r^h; image.headTokens(2), image.neuronTokens(88)
 *   const best = await model.rankPairs("yellow");         // [{ neuron, head, score }, …] by cos(w^{n,h}, t)
 *
 * Dataset scale: `collect` streams images into a resumable Collection (s per image, means, top-k images per unit);
 * `analysis` holds the paper's analyses on it; `figures` returns plotly specs; in a notebook, `showFigure`,
 * `showTable`, `progress` and `neuronHeadBrowser` display them. Units are always `{ neuron, head }` objects.
 *
 * Stable names: Z (features), a (attention), s (coefficients), w (pair directions), c (pair constants),
 * r (contributions: r^{n,h} pair, r^n neuron, r^h head, r_i^h head×token, r_i^n neuron×token).
 */
export { ClipNadError } from "./errors";

// Models: a name or checkpoint → onnxruntime sessions + the attention pool the decomposition needs.
export { loadModel, LoadModelOptions } from "./clip/model";
export { Device, DEVICES, DeviceError } from "./clip/device";
export { ClipModel, ImageForward, ImageInput, RankPairsOptions } from "./clip/types";
export { ClipConfig, neuronsOf, tokensOf } from "./clip/config";
export { knownModelNames } from "./clip/resolve";
export { tokenize } from "./clip/tokenizer";
export { loadImageRGB, preprocessRGB, RGBImage } from "./clip/preprocess";

// The decomposition: weight-only tables per model, one image's contributions, units by name.
export { Decomposition, decompositionOf } from "./decompose/decomposition";
export { ImageDecomposition, ImageInternals } from "./decompose/image";
export { Pair, RankedPair, RankedNeuron, RankedHead, pairIndex, pairAt } from "./decompose/units";
export { AttentionPoolWeights } from "./decompose/weights";
/** The numeric entry points on plain arrays (tables, token contributions, norms, edited embeddings). */
export * as decompose from "./decompose";

// Images and datasets: the one image lister, dataset readers, the toy world.
export { listImages, ImageItem, ImageSource } from "./data/images";
export { loadLabelledImages, LabelledImages } from "./data/labelled";
export * as datasets from "./data";
export * as toyworld from "./toyworld";

// Collections: per-image s over a dataset, means and top-k images, resumable and shardable.
export { collect, CollectOptions, CollectEvent } from "./collect/collect";
export { Collection, openCollection } from "./collect/collection";
export { mergeCollections } from "./collect/merge";

// Analyses, text, figures.
export * as analysis from "./analysis";
export { templateEmbeddings, loadTemplates, TextEncoder } from "./text/templates";
export { vocabularyEmbeddings, readWordList, WORDS_30K } from "./text/vocabulary";
export { matchWords, WordMatch } from "./text/words";
export { UnitLabeler, vocabularyLabeler, meanCentredContribution } from "./text/unitWords";
export { Unit, UnitTopImages, unitTopImages, unitName } from "./analysis/topImages";
export {
  TextDictionary, normalizeDictionary, dictionaryWords, toyDictionaryWords, textDictionary, subDictionary,
} from "./text/dictionary";
export * as figures from "./figures";
export { PlotlyFigure } from "./figures/types";
export { explainToyScenes } from "./apps/explainScenes";
/** Training-free segmentation (pairs, ablations, MaskCLIP, self-self), mmseg inference and mIoU. */
export * as segmentation from "./apps/segmentation";

// Arrays on disk (numpy-compatible).
export { readNpy, writeNpy, NpyArray } from "./io/npy";
export { readCsrNpz, writeCsrNpz, CsrMatrix } from "./io/npz";

// In a notebook (the clip-nad kernel): rich output and the neuron-head browser.
export { showFigure, showPNG, showTable, progress, phasedProgress, Progress } from "../kernel-ext/display";
export { neuronHeadBrowser, NeuronHeadBrowser, NeuronHeadBrowserOptions } from "../kernel-ext/widgets/neuronHeadBrowser";
// Your own widgets and comms (ipywidgets protocol 2.1; the front end is any @jupyter-widgets/base module).
export { WidgetModel, WidgetSpec, WidgetState, WidgetOptions } from "../kernel-ext/widget";
export { openComm, registerTarget, Comm } from "../kernel-ext/comm";
