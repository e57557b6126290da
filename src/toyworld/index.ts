/** Procedural toy world: seeded scenes of shapes with known labels, masks, captions and drift. */
export * from "./vocab";
export * from "./types";
export { Rng, sceneSeed, mix32 } from "./random";
export { insideShape } from "./shapes";
export { rasterise, Raster, backgroundRGB } from "./raster";
export { makeCaptions, canonicalCaption, describeObject, article, plural } from "./captions";
export { generateScene, renderScene, sampleSceneSpec, sceneLabels, attributeDistribution, resolveDistributions, Distributions } from "./scene";
export { parseDrift, probabilitiesAt, yearOf, resolveAttributeValue, DriftSpec, DriftTerm } from "./drift";
export { writeToyDataset, toyRecord, ToyDatasetOptions, ToyDatasetSummary, ToyIndexRecord, YearStats } from "./dataset";
export { toyPromptTemplates } from "./prompts";
export { ensureToyDataset } from "./ensure";
