/**
 * PASCAL Context (on VOC2010): <root>/JPEGImages/<id>.jpg, <root>/SegmentationClassContext/<id>.png and the split
 * list <root>/ImageSets/SegmentationContext/<split>.txt. `root` may be the VOC2010 folder or a VOCdevkit holding it.
 * Masks hold 0 = background and 1..59 = the 59 classes. With 59 classes (mmseg's reduce_zero_label) background
 * becomes 255 (ignored) and class k becomes k−1; with 60 classes the values are used as they are.
 */
import * as fs from "fs";
import * as path from "path";
import sharp from "sharp";
import { ClipNadError } from "../errors";
import { readText, relativeId, requireDir } from "./files";
import { Dataset, DatasetItem } from "./types";

const ASSETS = path.join(__dirname, "..", "..", "assets", "text");
export const IGNORE_LABEL = 255;

export interface PascalContextOptions {
  /** 59 (reduce_zero_label) or 60 (with background). Default 59. */
  classes?: 59 | 60;
  /** Split list name under ImageSets/SegmentationContext (default "val"). */
  split?: string;
}

export function pascalContextClassNames(classes: 59 | 60): string[] {
  return readText(path.join(ASSETS, `classes_context${classes}.txt`), "class list").split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
}

function resolveRoot(root: string): string {
  if (fs.existsSync(path.join(root, "VOC2010", "JPEGImages"))) return path.join(root, "VOC2010");
  return root;
}

export function readPascalContext(root: string, opts: PascalContextOptions = {}): Dataset {
  requireDir(root, "PASCAL Context");
  const classes = opts.classes ?? 59;
  if (classes !== 59 && classes !== 60) throw new ClipNadError(`PASCAL Context has 59 or 60 classes, not ${classes}`, { file: root });
  const voc = resolveRoot(root);
  const images = requireDir(path.join(voc, "JPEGImages"), "JPEGImages");
  const masks = requireDir(path.join(voc, "SegmentationClassContext"), "SegmentationClassContext");
  const list = path.join(voc, "ImageSets", "SegmentationContext", `${opts.split ?? "val"}.txt`);
  const ids = readText(list, "split list").split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (ids.length === 0) throw new ClipNadError("empty split list", { file: list });
  const items: DatasetItem[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const img = path.join(images, `${id}.jpg`), mask = path.join(masks, `${id}.png`);
    if (!fs.existsSync(img)) missing.push(img);
    if (!fs.existsSync(mask)) missing.push(mask);
    items.push({ id: relativeId(path.resolve(voc), path.resolve(img)), path: path.resolve(img), maskPath: path.resolve(mask) });
  }
  if (missing.length > 0) {
    throw new ClipNadError(`${missing.length} file(s) listed in the split are missing, e.g. ${missing.slice(0, 3).join(", ")}`, { file: list });
  }
  return { name: `pascal-context-${classes}`, root: path.resolve(voc), items, classNames: pascalContextClassNames(classes) };
}

/** Raw mask values → training labels for 59 (0 → 255, k → k−1) or 60 classes (unchanged; > 59 → 255). */
export function contextLabels(raw: Uint8Array, classes: 59 | 60): Uint8Array {
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    out[i] = classes === 59 ? (v === 0 || v > 59 ? IGNORE_LABEL : v - 1) : v > 59 ? IGNORE_LABEL : v;
  }
  return out;
}

/** Decode a SegmentationClassContext PNG into per-pixel labels (row-major, width × height). */
export async function readContextMask(file: string, classes: 59 | 60 = 59): Promise<{ width: number; height: number; labels: Uint8Array }> {
  try {
    const { data, info } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, labels: contextLabels(new Uint8Array(data.buffer, data.byteOffset, data.length), classes) };
  } catch (e) {
    throw new ClipNadError(`cannot decode mask (${(e as Error).message})`, { file });
  }
}
