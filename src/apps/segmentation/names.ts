/** The segmentation methods by name (no dependencies: figures and the CLI list them without loading a model). */
export const SEGMENTATION_METHODS = ["pairs", "neurons", "heads", "maskclip", "maskclip+pos", "selfself"] as const;
export type SegmentationMethod = (typeof SEGMENTATION_METHODS)[number];

/** What each method is, in a few words (logs, tables, legends). */
export const METHOD_LABELS: Record<SegmentationMethod, string> = {
  pairs: "neuron-head pairs (ours)",
  neurons: "neurons only (head factor = 1)",
  heads: "heads only (neuron factor = 1)",
  maskclip: "MaskCLIP",
  "maskclip+pos": "MaskCLIP + positional embedding",
  selfself: "self-self attention (QQᵀ+KKᵀ)",
};
