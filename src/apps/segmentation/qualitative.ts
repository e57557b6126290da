/**
 * The qualitative grid's pictures (src/figures/segmentation.ts segmentationGridFigure): for some images of a
 * benchmark, the image, its ground truth and the prediction each evaluated method wrote (pred/<stem>.png), painted
 * with one palette (ignored pixels black).
 */
import * as fs from "fs";
import * as path from "path";
import sharp from "sharp";
import { ClipNadError } from "../../errors";
import { stem } from "../../data/files";
import { SegmentationDataset, readRawLabels } from "./datasets";
import { IGNORE_INDEX } from "./metrics";
import { classMapPNG, pngDataURL } from "./render";

export interface QualitativePictures {
  id: string;
  image: string;
  groundTruth: string;
  predictions: Record<string, string>;
}

/** Class indices → PNG with ignored pixels black. */
async function paint(
  labels: Uint8Array,
  width: number,
  height: number,
  palette: readonly [number, number, number][],
): Promise<string> {
  const full: [number, number, number][] = Array.from({ length: 256 }, (_, i) => palette[i] ?? [0, 0, 0]);
  full[IGNORE_INDEX] = [0, 0, 0];
  return pngDataURL(await classMapPNG(labels, width, height, full));
}

export async function qualitativePictures(
  dataset: SegmentationDataset,
  evalDirs: Record<string, string>,
  ids: string[],
  palette: readonly [number, number, number][],
): Promise<QualitativePictures[]> {
  const P = dataset.classes.names.length;
  const out: QualitativePictures[] = [];
  for (const id of ids) {
    const item = dataset.items.find((it) => it.id === id);
    if (!item) throw new ClipNadError(`no image '${id}' in the dataset`, { file: dataset.root });
    const gt = await dataset.readLabels(item);
    const predictions: Record<string, string> = {};
    for (const [method, dir] of Object.entries(evalDirs)) {
      const file = path.join(dir, "pred", `${stem(item.id)}.png`);
      if (!fs.existsSync(file)) throw new ClipNadError(`no prediction for '${id}' (evaluate it first)`, { file });
      const pred = await readRawLabels(file, P - 1);
      predictions[method] = await paint(pred.labels, pred.width, pred.height, palette);
    }
    out.push({
      id,
      image: pngDataURL(await sharp(item.path).removeAlpha().png().toBuffer()),
      groundTruth: await paint(gt.labels, gt.width, gt.height, palette),
      predictions,
    });
  }
  return out;
}
