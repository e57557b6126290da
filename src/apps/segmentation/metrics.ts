/**
 * mIoU as mmseg defines it (mmseg/evaluation/metrics/iou_metric.py; algorithms.md §C): per image, pixels whose label
 * is the ignore index (255) are dropped; histograms over the P classes of the intersection (pred = label), of the
 * prediction and of the label; union = pred + label − intersection. Areas are SUMMED OVER THE DATASET before
 * dividing: IoU_c = ΣI_c / ΣU_c (NaN when class c is in neither prediction nor ground truth), mIoU = nanmean(IoU)
 * × 100, aAcc = ΣI / Σlabel × 100, Acc_c = ΣI_c / Σlabel_c; the summary numbers rounded to 2 decimals as mmseg
 * prints them.
 */
import { ClipNadError } from "../../errors";
import { IGNORE_LABEL } from "../../data/pascalContext";

export const IGNORE_INDEX = IGNORE_LABEL;

/** One image's (or a dataset's summed) areas per class, in pixels. */
export interface SegmentationAreas {
  intersect: number[];
  union: number[];
  pred: number[];
  label: number[];
}

export function emptyAreas(P: number): SegmentationAreas {
  const z = () => new Array<number>(P).fill(0);
  return { intersect: z(), union: z(), pred: z(), label: z() };
}

/**
 * Areas of one prediction against its label map (same length). Labels must be class indices < P or the ignore
 * index; anything else is an error naming `file` (mmseg would drop it from the label histogram silently).
 */
export function segmentationAreas(
  pred: ArrayLike<number>,
  label: ArrayLike<number>,
  P: number,
  opts: { ignoreIndex?: number; file?: string } = {},
): SegmentationAreas {
  const ignore = opts.ignoreIndex ?? IGNORE_INDEX;
  if (pred.length !== label.length) {
    throw new ClipNadError(`the prediction has ${pred.length} pixels but the label map ${label.length}`, {
      file: opts.file,
    });
  }
  const a = emptyAreas(P);
  for (let i = 0; i < label.length; i++) {
    const l = label[i];
    if (l === ignore) continue;
    if (!(Number.isInteger(l) && l >= 0 && l < P)) {
      throw new ClipNadError(
        `label value ${l} at pixel ${i} is out of range (classes 0..${P - 1}, ${ignore} = ignore)`,
        { file: opts.file },
      );
    }
    const p = pred[i];
    if (!(Number.isInteger(p) && p >= 0 && p < P))
      throw new ClipNadError(`predicted class ${p} at pixel ${i} is out of range 0..${P - 1}`, { file: opts.file });
    a.pred[p]++;
    a.label[l]++;
    if (p === l) a.intersect[p]++;
  }
  for (let c = 0; c < P; c++) a.union[c] = a.pred[c] + a.label[c] - a.intersect[c];
  return a;
}

/** Add `b` into `into` (in place). */
export function addAreas(into: SegmentationAreas, b: SegmentationAreas): SegmentationAreas {
  for (const key of ["intersect", "union", "pred", "label"] as const) {
    if (b[key].length !== into[key].length)
      throw new ClipNadError(`areas of ${b[key].length} classes cannot be added to ${into[key].length}`);
    for (let c = 0; c < into[key].length; c++) into[key][c] += b[key][c];
  }
  return into;
}

export interface ClassIoU {
  name: string;
  /** Percent, 2 decimals; null when the class is in neither prediction nor ground truth (mmseg's NaN). */
  IoU: number | null;
  /** Percent, 2 decimals; null when the class has no ground-truth pixels. */
  Acc: number | null;
  intersect: number;
  union: number;
  pred: number;
  label: number;
}

export interface MiouSummary {
  /** Percent, 2 decimals (nanmean over classes). */
  mIoU: number;
  /** Percent, 2 decimals. */
  aAcc: number;
  /** Percent, 2 decimals (nanmean of the per-class accuracies). */
  mAcc: number;
  /** Classes counted in mIoU (those present in prediction or ground truth). */
  classesCounted: number;
  perClass: ClassIoU[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function nanmean(xs: number[]): number {
  const ok = xs.filter((x) => !Number.isNaN(x));
  return ok.length ? ok.reduce((s, x) => s + x, 0) / ok.length : NaN;
}

/** mmseg's summary of dataset-summed areas. */
export function miouSummary(areas: SegmentationAreas, names: readonly string[]): MiouSummary {
  const P = areas.intersect.length;
  if (names.length !== P) throw new ClipNadError(`${names.length} class names for areas of ${P} classes`);
  const iou = areas.intersect.map((i, c) => i / areas.union[c]);
  const acc = areas.intersect.map((i, c) => i / areas.label[c]);
  const sumI = areas.intersect.reduce((s, x) => s + x, 0);
  const sumL = areas.label.reduce((s, x) => s + x, 0);
  const pctOrNull = (x: number) => (Number.isNaN(x) ? null : round2(100 * x));
  return {
    mIoU: round2(100 * nanmean(iou)),
    aAcc: round2((100 * sumI) / sumL),
    mAcc: round2(100 * nanmean(acc)),
    classesCounted: iou.filter((x) => !Number.isNaN(x)).length,
    perClass: names.map((name, c) => ({
      name,
      IoU: pctOrNull(iou[c]),
      Acc: pctOrNull(acc[c]),
      intersect: areas.intersect[c],
      union: areas.union[c],
      pred: areas.pred[c],
      label: areas.label[c],
    })),
  };
}
