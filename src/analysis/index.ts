/**
 * Paper analyses on collected coefficients s (N×H×C, streamed per image): PCA, zero-shot, reconstruction, sparsity,
 * and the text decomposition (OMP, TextSpan, text-based reconstruction, label ground truth).
 */
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
export * from "./omp";
export * from "./textspan";
export * from "./heads";
export * from "./textDecomposition";
export * from "./groundTruth";
export * from "./linearEdit";
