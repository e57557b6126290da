export * as toyworld from "./toyworld";
export * as datasets from "./data";
export * as collection from "./collect";
