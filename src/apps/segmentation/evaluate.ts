/**
 * Dataset evaluation (`clip-nad segment-eval`): every image segmented with one method, its prediction written to
 * pred/<stem>.png (class indices), its areas appended to areas.jsonl, and miou.json (mmseg's definition, areas
 * summed over the dataset) written at the end. Resumable: a run with the same settings (eval.json) continues after
 * the images already in areas.jsonl; other settings in the same folder are refused, as is a non-empty folder that
 * is not an evaluation. The class embeddings are computed once and kept in class_embeddings.npy.
 * Memory: one image's dense logits (P × its resized size) at a time.
 */
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../../errors";
import { ClipModel } from "../../clip/types";
import { loadImage } from "../../clip/preprocess";
import { ensureDir, readJson, writeFileAtomic, writeJsonAtomic } from "../../io/atomic";
import { lockFolder, LOCK_FILE } from "../../io/lock";
import { readNpy, writeNpy } from "../../io/npy";
import { stem } from "../../data/files";
import { classTextEmbeddings, prepareClassEmbeddings } from "./classes";
import { SegmentationDataset } from "./datasets";
import { InferenceMode, denseLogits, argmaxClasses } from "./inference";
import { SegmentationAreas, MiouSummary, addAreas, emptyAreas, miouSummary, segmentationAreas } from "./metrics";
import { createSegmenter, usesPairs } from "./method";
import { SegmentationMethod } from "./names";
import { defaultPairCount } from "./pairs";
import { classIndexPNG } from "./render";

const EVAL_VERSION = 1;

export interface EvaluateSegmentationOptions {
  model: ClipModel;
  dataset: SegmentationDataset;
  method: SegmentationMethod;
  outDir: string;
  /** Pairs per class (pair methods; default defaultPairCount). */
  k?: number;
  /** Default: slide with crop R and stride R/2 (the paper's 384, 192 for RN50x16). */
  mode?: InferenceMode;
  /** Pair signs H×C and where they come from (default +w/|w|, source "+w"). */
  signs?: { signs: Int8Array; source: string };
  /** Prompt templates for the class names (default: the 80 ImageNet templates). */
  templates?: string[];
  /** The first `limit` images only. */
  limit?: number;
  /** Crops per forward. */
  batch?: number;
  onProgress?: (done: number, total: number, info: { resumedFrom: number }) => void;
  /** Class names embedded so far (a first run only; the embeddings are kept for resuming). */
  onEmbedProgress?: (done: number, total: number) => void;
}

export interface SegmentationEvalReport extends MiouSummary {
  dataset: string;
  root: string;
  model: { name: string; hash: string };
  method: SegmentationMethod;
  k: number | null;
  mode: InferenceMode;
  shortSide: number | "keep";
  pairSigns: string | null;
  images: number;
  /** The summed areas, for recomputing anything else. */
  areas: SegmentationAreas;
}

interface AreasLine {
  id: string;
  pred: string;
  areas: SegmentationAreas;
}

function settingsOf(o: EvaluateSegmentationOptions, k: number | null, mode: InferenceMode) {
  return {
    version: EVAL_VERSION,
    dataset: o.dataset.name,
    root: path.resolve(o.dataset.root),
    model: { name: o.model.name, hash: o.model.hash },
    method: o.method,
    k,
    mode,
    shortSide: o.dataset.shortSide,
    classes: o.dataset.classes.synonyms,
    templates: o.templates ?? null,
    pairSigns: usesPairs(o.method) ? (o.signs?.source ?? "+w") : null,
  };
}

/** Prediction file names from the image stems (they must be unique). */
function predNames(dataset: SegmentationDataset, n: number): string[] {
  const names = dataset.items.slice(0, n).map((it) => `${stem(it.id)}.png`);
  const seen = new Map<string, string>();
  dataset.items.slice(0, n).forEach((it, i) => {
    const prev = seen.get(names[i]);
    if (prev)
      throw new ClipNadError(
        `images '${prev}' and '${it.id}' have the same file stem; their predictions would collide`,
        { file: dataset.root },
      );
    seen.set(names[i], it.id);
  });
  return names;
}

/** Valid lines of areas.jsonl (a torn last line from an interrupted run is dropped). */
function readAreas(file: string, P: number): AreasLine[] {
  if (!fs.existsSync(file)) return [];
  const out: AreasLine[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line) as AreasLine;
      if (typeof rec.id === "string" && rec.areas?.intersect?.length === P) out.push(rec);
    } catch {
      // torn write
    }
  }
  return out;
}

export async function evaluateSegmentation(o: EvaluateSegmentationOptions): Promise<SegmentationEvalReport> {
  const { model, dataset } = o;
  const R = model.config.imageResolution;
  const mode: InferenceMode = o.mode ?? { mode: "slide", crop: R, stride: Math.max(1, Math.floor(R / 2)) };
  const apw = model.attentionPool;
  const k = usesPairs(o.method) ? (o.k ?? defaultPairCount(apw.H, apw.C)) : null;
  const n = Math.min(o.limit ?? dataset.items.length, dataset.items.length);
  if (n < 1) throw new ClipNadError("no images to evaluate", { file: dataset.root });
  const names = predNames(dataset, n);
  const settings = settingsOf(o, k, mode);
  const out = path.resolve(o.outDir);
  const settingsFile = path.join(out, "eval.json");
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory()) throw new ClipNadError("exists and is not a folder", { file: out });
    const entries = fs.readdirSync(out).filter((f) => f !== LOCK_FILE);
    if (entries.length > 0 && !fs.existsSync(settingsFile)) {
      throw new ClipNadError(
        "the folder is not empty and holds no segmentation evaluation (eval.json); choose an empty folder",
        { file: out },
      );
    }
  }
  ensureDir(path.join(out, "pred"));
  const unlock = lockFolder(out, "segmentation evaluation");
  try {
    if (fs.existsSync(settingsFile)) {
      const prev = readJson<typeof settings>(settingsFile);
      if (JSON.stringify(prev) !== JSON.stringify(settings)) {
        const diff = Object.keys(settings).filter(
          (key) =>
            JSON.stringify((prev as Record<string, unknown>)[key]) !==
            JSON.stringify((settings as Record<string, unknown>)[key]),
        );
        throw new ClipNadError(
          `this folder holds an evaluation with other settings (${diff.join(", ")}); choose another folder`,
          { file: settingsFile },
        );
      }
    } else {
      writeJsonAtomic(settingsFile, settings);
    }
    const P = dataset.classes.names.length;
    const embFile = path.join(out, "class_embeddings.npy");
    let raw: Float32Array;
    if (fs.existsSync(embFile)) {
      raw = readNpy(embFile).data as Float32Array;
    } else {
      raw = await classTextEmbeddings(dataset.classes, (t) => model.encodeTexts(t), {
        templates: o.templates,
        onProgress: o.onEmbedProgress,
      });
      writeNpy(embFile, raw, [P, apw.d]);
    }
    const segmenter = await createSegmenter(model, {
      method: o.method,
      classEmbeddings: prepareClassEmbeddings(raw, apw.d, { file: embFile }),
      k: k ?? undefined,
      signs: o.signs?.signs,
    });
    const areasFile = path.join(out, "areas.jsonl");
    const byId = new Map<string, AreasLine>();
    for (const line of readAreas(areasFile, P)) if (fs.existsSync(path.join(out, line.pred))) byId.set(line.id, line);
    // Rewrite without a torn or orphaned line, so appends start on a fresh line.
    writeFileAtomic(areasFile, [...byId.values()].map((l) => JSON.stringify(l) + "\n").join(""));
    const resumedFrom = dataset.items.slice(0, n).filter((it) => byId.has(it.id)).length;
    let done = resumedFrom;
    o.onProgress?.(done, n, { resumedFrom });
    for (let i = 0; i < n; i++) {
      const item = dataset.items[i];
      if (byId.has(item.id)) continue;
      const image = await loadImage(item.path);
      const label = await dataset.readLabels(item);
      if (label.width !== image.width || label.height !== image.height) {
        throw new ClipNadError(
          `the label map is ${label.width}×${label.height} but its image ${item.id} is ${image.width}×${image.height}`,
          { file: item.maskPath },
        );
      }
      const dense = await denseLogits(model, segmenter, image, {
        mode,
        shortSide: dataset.shortSide,
        batch: o.batch,
        file: item.path,
      });
      const pred = argmaxClasses(dense.logits, P);
      const areas = segmentationAreas(pred, label.labels, P, { file: item.maskPath });
      const predPath = `pred/${names[i]}`;
      writeFileAtomic(path.join(out, predPath), await classIndexPNG(pred, image.width, image.height, P));
      const line: AreasLine = { id: item.id, pred: predPath, areas };
      fs.appendFileSync(areasFile, JSON.stringify(line) + "\n");
      byId.set(item.id, line);
      o.onProgress?.(++done, n, { resumedFrom });
    }
    const total = emptyAreas(P);
    for (let i = 0; i < n; i++) addAreas(total, byId.get(dataset.items[i].id)!.areas);
    const report: SegmentationEvalReport = {
      dataset: dataset.name,
      root: settings.root,
      model: settings.model,
      method: o.method,
      k,
      mode,
      shortSide: dataset.shortSide,
      pairSigns: settings.pairSigns,
      images: n,
      ...miouSummary(total, dataset.classes.names),
      areas: total,
    };
    writeJsonAtomic(path.join(out, "miou.json"), report);
    return report;
  } finally {
    unlock();
  }
}
