/** One function per paper figure, each returning a pure plotly spec (no DOM). Export to PNG/SVG: ./export. */
export * from "./types";
export * from "./reconstruction";
export * from "./sparsity";
export * from "./shift";
export * from "./sink";
export * from "./segmentation";
export * from "./topImages";
export * from "./polysemanticity";
export * from "./tiles";
export * from "./textReconstruction";
