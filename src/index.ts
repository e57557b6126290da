/**
 * clip-nad — neuron-attention decomposition of CLIP-ResNet (Bu & Gandelsman 2025).
 *
 *   import { loadModel, forwardImage, decompose, analysis } from "clip-nad";
 *   const model = await loadModel("toy");                       // or "RN50x16", or a checkpoint path
 *   const fwd = await forwardImage(model, "cat.png");            // embedding, Z, a, s
 *   const dec = decompose.prepareDecomposition(decompose.attentionPoolWeights(model.weights, model.config));
 *   const r = decompose.pairContribution(fwd.coefficients, dec.w, dec.c, head, neuron);   // r^{n,h}
 *
 * Stable names: Z (features), a (attention), s (coefficients), w (pair directions), c (pair constants), r (contributions).
 */
export { ClipNadError } from "./errors";

// Models: checkpoints → ONNX graphs → onnxruntime sessions.
export { loadModel, LoadModelOptions } from "./clip/model";
export { ClipModel, ImageForward } from "./clip/types";
export { ClipConfig, inferConfig, neuronsOf, tokensOf } from "./clip/config";
export { resolveModel, knownModelNames } from "./clip/resolve";
export { tokenize, tokenizeBatch } from "./clip/tokenizer";
export { loadImageRGB, preprocessRGB, preprocessImages } from "./clip/preprocess";
export { encodeImages, encodeTexts, forwardImage, forEachImageBatch } from "./clip/encode";
export { readCheckpoint, validateClipWeights, readNpy, writeNpy, readSafetensors, writeSafetensors } from "./weights";

// The decomposition and the paper's analyses.
export * as decompose from "./decompose";
export * as analysis from "./analysis";
export * as collection from "./collect";
export { collect, openCollection, mergeCollections } from "./collect";

// Data, the embedded toy world, figures and applications.
export * as datasets from "./data";
export * as toyworld from "./toyworld";
export * as figures from "./figures";
export { explainToyScenes } from "./apps/explainScenes";
