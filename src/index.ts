export * as toyworld from "./toyworld";
export * as datasets from "./data";
