/**
 * Neuron-attention decomposition of CLIP-ResNet's attention pool (paper.md §A.3, §D). Everything image-dependent
 * derives on demand from s (H×C), a (H×(K+1)) and Z (C×K); w, c and the Gram tables are weight-only, built once
 * per model (Decomposition, shared through `decompositionOf`).
 */
export * from "./units";
export * from "./weights";
export * from "./directions";
export * from "./contributions";
export * from "./norms";
export * from "./tables";
export * from "./decomposition";
export * from "./image";
export * from "./unitNorms";
