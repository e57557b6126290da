/**
 * Dataset-scale collection of the neuron-attention decomposition: per image s (H×C) + embedding on disk,
 * means and top-k images per pair / neuron / head, resumable, shardable, numpy-readable (paper.md §A.4, §D).
 */
export { collect, clipPixelLoader, CollectOptions, CollectEvent, PixelLoader } from "./collect";
export { loadLabelledImages, fromDataset, LabelledImages } from "./labelled";
export { Collection, openCollection, TopKEntry, TopKTable, CoefficientChunk } from "./collection";
export { mergeCollections } from "./merge";
export { finalizeCollection, FinalizeEvent, normTables, NormTables } from "./finalize";
export { normTablesOrt, FastNormTables } from "./normTablesOrt";
export { CollectionManifest, CollectProgress, SkippedImage, FILES } from "./manifest";
export { ImageItem, ImageSource, SelectOptions, listImageFolder, selectIndices, parseShard, IMAGE_EXTENSIONS } from "./images";
export { TopKTracker } from "./topk";
export { readNpyArray, readNpyInfo, RowNpyReader, encodeNpyBytes } from "./npyFile";
