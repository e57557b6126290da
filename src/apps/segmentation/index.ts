/**
 * Training-free semantic segmentation (paper.md §A.9): the paper's neuron-head pairs, its two ablations, MaskCLIP
 * and self-self baselines; mmseg-style whole/slide inference; mIoU as mmseg defines it; segmentation benchmarks.
 *
 * Choices where the paper or its code leave room (each documented in its module):
 *  - synonyms ("tv monitor, screen" on one line) are averaged into one class embedding (./classes);
 *  - without a collection a pair's PC sign is + (r̂ = +w/|w|); on the toy model 98% of pairs have that majority
 *    sign over 1,000 scenes (./pairs);
 *  - k defaults to 20,000 × H·C / 147,456 (20,000 for RN50x16, 556 for the toy model);
 *  - whole-image inference squeezes a non-square image to R×R (the graphs are fixed-resolution); token_logits of
 *    `segment` are always for `decompose`'s pixels (./inference, ./segment);
 *  - a crop other than R is resized to R for the forward; the test-time resize is bilinear with float weights.
 * Numeric entry point on plain arrays: createSegmenter(...).tokenLogits(Z, a, B) (Z, a as `decompose` writes them).
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
