/**
 * Training-free semantic segmentation (paper.md §A.9): the paper's neuron-head pairs, its two ablations, MaskCLIP
 * and self-self baselines; mmseg-style whole/slide inference; mIoU as mmseg defines it; segmentation benchmarks.
 */
export * from "./classes";
export * from "./names";
export * from "./method";
export * from "./pairs";
export * from "./maskclip";
export * from "./selfself";
export * from "./sink";
export * from "./inference";
export * from "./metrics";
export * from "./render";
export * from "./segment";
export * from "./datasets";
export * from "./evaluate";
export { releaseSegmentationSessions } from "./graphs";
export * from "./signs";
export * from "./qualitative";
