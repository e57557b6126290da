/** Paper analyses on collected coefficients s (N×H×C, streamed per image): PCA, zero-shot, reconstruction, sparsity. */
export * from "./linalg";
export * from "./rows";
export * from "./pca";
export * from "./zeroshot";
export * from "./reconstruct";
export * from "./sparsity";
export * from "./neuronSvd";
export * from "./evaluation";
export * from "./stats";
export * from "./shift";
export * from "./sink";
export * from "./registers";
export * from "./topImages";
export * from "./subconcepts";
export * from "./polysemanticity";
export * from "./rowLabels";
