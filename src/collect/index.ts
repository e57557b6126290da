/**
 * Dataset-scale collection of the neuron-attention decomposition: per image s (H×C) + embedding on disk,
 * means and top-k images per pair / neuron / head, resumable, shardable, numpy-readable (paper.md §A.4, §D).
 */
export { collect, clipPixelLoader, CollectOptions, CollectEvent, PixelLoader } from "./collect";
export { Collection, checkCollectionModel, openCollection, TopKEntry, TopKTable, CoefficientChunk } from "./collection";
export { mergeCollections } from "./merge";
export { finalizeCollection, FinalizeEvent, NormTables } from "./finalize";
export { CollectionManifest, CollectProgress, SkippedImage, FILES } from "./manifest";
export { SelectOptions, Shard, selectIndices, parseShard } from "./select";
