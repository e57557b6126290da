/** Dataset readers: plain folders, ImageNet val/test, PASCAL Context, Stanford Cars, the toy world. */
export * from "./types";
export { readImageFolder } from "./imageFolder";
export { ImageItem, ImageSource, ImageList, listImages, IMAGE_EXTENSIONS, isImageName } from "./images";
export { LabelledImages, loadLabelledImages, fromDataset } from "./labelled";
export { readImageNetVal, readImageNetTest, readImageNetClasses, ImageNetClasses, ImageNetValOptions, ImageNetTestOptions, DEFAULT_CLASS_INDEX } from "./imagenet";
export { readPascalContext, readContextMask, contextLabels, pascalContextClassNames, PascalContextOptions, IGNORE_LABEL } from "./pascalContext";
export { readStanfordCars, carYear, StanfordCarsOptions } from "./stanfordCars";
export { readToyDataset, ToyDatasetReadOptions } from "./toy";
export { readMat, parseMat, encodeMat, mat, matString, matNumber, MatValue } from "./matfile";
export { parseCsv } from "./files";
export {
  ShiftLabel,
  CarsConcept,
  CARS_YELLOW_COLOUR_ID,
  readShiftLabels,
  writeShiftLabels,
  carsShiftLabels,
  toyShiftLabels,
  toyDriftYears,
  toyConceptKey,
  commonFolder,
} from "./shiftLabels";
