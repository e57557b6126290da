/**
 * Segmentation benchmarks: images with per-pixel label maps, the class names to embed, and the protocol settings.
 *   pascal-context59  VOC2010 + SegmentationClassContext (src/data/pascalContext.ts), reduce_zero_label (raw 0 =
 *                     background → 255 ignored, k → k−1), 59 classes embedded by the paper's names
 *                     (assets/text/class_names.json `pascal_context_classes`: 'airplane', 'potted plant', …),
 *                     test-time short side 384 (the paper code's Resize(2048, 384)).
 *   toy               a toy-world folder written with `clip-nad toyworld --canvas …`: colour_masks/ hold 0 =
 *                     background and 1 + colour index; the classes are "background" and the 10 colours; images are
 *                     used at their own size (the canvas is at the training scale, so no test-time resize).
 */
import * as fs from "fs";
import * as path from "path";
import sharp from "sharp";
import { ClipNadError } from "../../errors";
import { readJson } from "../../io/atomic";
import { contextLabels, readPascalContext } from "../../data/pascalContext";
import { readToyDataset } from "../../data/toy";
import { readText } from "../../data/files";
import { COLOUR_CLASSES } from "../../toyworld/vocab";
import { SegmentationClasses, classesFromNames } from "./classes";
import { IGNORE_INDEX } from "./metrics";

export const SEGMENTATION_DATASETS = ["pascal-context59", "toy"] as const;
export type SegmentationDatasetName = (typeof SEGMENTATION_DATASETS)[number];

export interface SegmentationItem {
  /** Path relative to the dataset root (e.g. "JPEGImages/2008_000002.jpg"). */
  id: string;
  path: string;
  maskPath: string;
}

export interface LabelMap {
  width: number;
  height: number;
  /** Class index per pixel (row-major), IGNORE_INDEX = not counted. */
  labels: Uint8Array;
}

export interface SegmentationDataset {
  name: SegmentationDatasetName;
  root: string;
  classes: SegmentationClasses;
  items: SegmentationItem[];
  /** Test-time short side ("keep" = images at their own size). */
  shortSide: number | "keep";
  /** Label map of an item, checked (values in range, decodable). */
  readLabels(item: SegmentationItem): Promise<LabelMap>;
}

/** A grey label PNG's raw values, each ≤ maxValue or IGNORE_INDEX (else an error naming the file). */
export async function readRawLabels(file: string, maxValue: number): Promise<LabelMap> {
  let data: Buffer, info: { width: number; height: number };
  try {
    ({ data, info } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new ClipNadError(`cannot decode the label map (${(e as Error).message.split("\n")[0]})`, { file });
  }
  const labels = new Uint8Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v > maxValue && v !== IGNORE_INDEX) {
      throw new ClipNadError(
        `label value ${v} at pixel (${i % info.width}, ${Math.floor(i / info.width)}) is out of range ` +
          `(0..${maxValue}, ${IGNORE_INDEX} = ignore)`,
        { file },
      );
    }
  }
  return { width: info.width, height: info.height, labels };
}

/** The paper's 59 PASCAL Context class names (the ones it embeds). */
export function pascalContext59EmbeddedNames(): string[] {
  const file = path.join(__dirname, "..", "..", "..", "assets", "text", "class_names.json");
  const names = (JSON.parse(readText(file, "class names")) as Record<string, string[]>).pascal_context_classes;
  if (!Array.isArray(names) || names.length !== 59)
    throw new ClipNadError("expected 59 pascal_context_classes", { file });
  return names;
}

export function pascalContext59Segmentation(root: string, opts: { split?: string } = {}): SegmentationDataset {
  const ds = readPascalContext(root, { classes: 59, split: opts.split });
  return {
    name: "pascal-context59",
    root: ds.root,
    classes: classesFromNames(pascalContext59EmbeddedNames()),
    items: ds.items.map((it) => ({ id: it.id, path: it.path, maskPath: it.maskPath! })),
    shortSide: 384,
    async readLabels(item) {
      const raw = await readRawLabels(item.maskPath, 59); // values checked: 0..59 or 255
      return { ...raw, labels: contextLabels(raw.labels, 59) }; // reduce_zero_label: 0 → 255, k → k − 1
    },
  };
}

export function toySegmentation(root: string): SegmentationDataset {
  const ds = readToyDataset(root, { labelBy: "colour" });
  const missing = ds.items.find((it) => typeof it.meta?.colourMaskPath !== "string");
  if (missing)
    throw new ClipNadError("the toy-world dataset has no colour masks (it was written without masks)", {
      file: path.join(root, "index.jsonl"),
      key: missing.id,
    });
  const metaFile = path.join(root, "dataset.json");
  if (fs.existsSync(metaFile)) {
    const meta = readJson<{ colourMaskClasses?: string[] }>(metaFile); // a corrupt file: an error naming it
    if (meta.colourMaskClasses && JSON.stringify(meta.colourMaskClasses) !== JSON.stringify(COLOUR_CLASSES)) {
      throw new ClipNadError("colour-mask classes differ from this version's toy world", {
        file: metaFile,
        key: "colourMaskClasses",
      });
    }
  }
  return {
    name: "toy",
    root: ds.root,
    classes: classesFromNames(COLOUR_CLASSES),
    items: ds.items.map((it) => ({ id: it.id, path: it.path, maskPath: it.meta!.colourMaskPath as string })),
    shortSide: "keep",
    readLabels: (item) => readRawLabels(item.maskPath, COLOUR_CLASSES.length - 1),
  };
}

export function openSegmentationDataset(name: string, root: string): SegmentationDataset {
  if (name === "pascal-context59") return pascalContext59Segmentation(root);
  if (name === "toy") return toySegmentation(root);
  throw new ClipNadError(`unknown segmentation dataset '${name}' (known: ${SEGMENTATION_DATASETS.join(", ")})`);
}
