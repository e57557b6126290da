/**
 * Writes a toy-world dataset to disk: images/NNNNNN.png (RGB), masks/NNNNNN.png (shape class ids,
 * 0 = background), colour_masks/NNNNNN.png (colour class ids), index.jsonl (one record per scene) and
 * dataset.json (vocabulary, options, drift with target and realised shares per year; `canvas` when the scenes
 * were drawn on larger canvases at the scale of `size`).
 */
import * as fs from "fs";
import * as path from "path";
import sharp from "sharp";
import { ClipNadError } from "../errors";
import { DriftSpec, parseDrift, probabilitiesAt, yearOf } from "./drift";
import { canvasScale, generateScene, resolveDistributions } from "./scene";
import { Scene, ToyWorldOptions } from "./types";
import { COLOUR_CLASSES, COLOURS, PATTERNS, SHAPE_CLASSES, SHAPES, SIZES, TEXTURES } from "./vocab";

export interface ToyDatasetOptions extends Omit<ToyWorldOptions, "year"> {
  n: number;
  seed: number;
  /** Drift spec (string syntax of parseDrift, or parsed). */
  drift?: string | DriftSpec;
  /** Also write mask PNGs (default true). */
  masks?: boolean;
  /** PNG encodes in flight at once (default 8). */
  concurrency?: number;
  /**
   * Replace an existing, non-empty `outDir` whole (the new dataset is written next to it and swapped in). Without it
   * a non-empty folder is refused: writing into it would mix old and new scenes under the same names.
   */
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** One line of index.jsonl. Paths are relative to the dataset folder. */
export interface ToyIndexRecord {
  id: string;
  index: number;
  image: string;
  mask?: string;
  colour_mask?: string;
  width: number;
  height: number;
  year?: number;
  captions: string[];
  labels: Scene["labels"];
  objects: Scene["objects"];
  background: Scene["background"];
}

export interface YearStats {
  year: number;
  scenes: number;
  objects: number;
  /** Per drift term "attribute.value": target probability in that year and the realised share. */
  target: Record<string, number>;
  realised: Record<string, number>;
}

export interface ToyDatasetSummary {
  outDir: string;
  n: number;
  years?: YearStats[];
}

const OBJECT_ATTRS = new Set(["shape", "colour", "pattern", "size"]);

export function toyRecord(scene: Scene, id: string, withMasks: boolean): ToyIndexRecord {
  const rec: ToyIndexRecord = {
    id, index: scene.index, image: `images/${id}.png`, width: scene.width, height: scene.height,
    captions: scene.captions, labels: scene.labels, objects: scene.objects, background: scene.background,
  };
  if (withMasks) {
    rec.mask = `masks/${id}.png`;
    rec.colour_mask = `colour_masks/${id}.png`;
  }
  if (scene.year !== undefined) rec.year = scene.year;
  return rec;
}

function pngOf(data: Uint8Array, width: number, height: number, channels: 1 | 3): ReturnType<typeof sharp> {
  const img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } });
  // Masks are 8-bit grayscale PNGs of class ids (without b-w, sharp would expand them to RGB).
  return (channels === 1 ? img.toColourspace("b-w") : img).png({ compressionLevel: 6, adaptiveFiltering: false });
}

export async function writeToyDataset(outDir: string, opts: ToyDatasetOptions): Promise<ToyDatasetSummary> {
  if (fs.existsSync(outDir)) {
    if (!fs.statSync(outDir).isDirectory()) throw new ClipNadError("exists and is not a folder", { file: outDir });
    if (fs.readdirSync(outDir).length > 0) {
      if (!opts.force) {
        throw new ClipNadError("the folder is not empty; writing a dataset into it would mix old and new scenes (choose an empty folder, or replace it whole)", { file: outDir });
      }
      // Written beside it and swapped in only when complete: a failure leaves the old dataset as it was.
      const fresh = `${outDir.replace(/[\\/]+$/, "")}.new-${process.pid}`;
      fs.rmSync(fresh, { recursive: true, force: true });
      try {
        const summary = await writeToyDataset(fresh, { ...opts, force: false });
        fs.rmSync(outDir, { recursive: true, force: true });
        fs.renameSync(fresh, outDir);
        return { ...summary, outDir };
      } finally {
        fs.rmSync(fresh, { recursive: true, force: true });
      }
    }
  }
  const { n, seed } = opts;
  if (!(Number.isInteger(n) && n >= 1)) throw new ClipNadError(`number of scenes must be a positive integer, got ${n}`);
  if (!(Number.isInteger(seed) && seed >= 0)) throw new ClipNadError(`seed must be a non-negative integer, got ${seed}`);
  const drift = typeof opts.drift === "string" ? parseDrift(opts.drift) : opts.drift;
  const withMasks = opts.masks ?? true;
  const size = opts.size ?? 128;
  canvasScale(opts); // a bad canvas fails before anything is written
  const digits = Math.max(6, String(n - 1).length);
  try {
    for (const d of ["images", ...(withMasks ? ["masks", "colour_masks"] : [])]) fs.mkdirSync(path.join(outDir, d), { recursive: true });
  } catch (e) {
    throw new ClipNadError(`cannot create output folder (${(e as Error).message})`, { file: outDir });
  }
  const indexPath = path.join(outDir, "index.jsonl");
  const lines: string[] = [];
  const stats = new Map<number, YearStats & { counts: Record<string, number> }>();
  const fixedDists = drift ? undefined : resolveDistributions(opts.probabilities);
  const distsByYear = new Map<number, ReturnType<typeof resolveDistributions>>();
  const pending = new Set<Promise<unknown>>();
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  let done = 0;
  for (let i = 0; i < n; i++) {
    let year: number | undefined;
    let dists = fixedDists;
    if (drift) {
      year = yearOf(drift, i, n);
      const probs = probabilitiesAt(drift, year);
      if (!distsByYear.has(year)) {
        const merged = { ...opts.probabilities };
        for (const [attr, table] of Object.entries(probs)) merged[attr as keyof typeof merged] = { ...(merged[attr as keyof typeof merged] ?? {}), ...table };
        distsByYear.set(year, resolveDistributions(merged));
      }
      dists = distsByYear.get(year);
      let st = stats.get(year);
      if (!st) {
        const target: Record<string, number> = {};
        for (const t of drift.terms) target[`${t.attribute}.${t.value}`] = probs[t.attribute]![t.value];
        st = { year, scenes: 0, objects: 0, target, realised: {}, counts: {} };
        stats.set(year, st);
      }
    }
    const scene = generateScene(seed, i, { ...opts, year }, dists);
    if (drift && year !== undefined) {
      const st = stats.get(year)!;
      st.scenes++;
      st.objects += scene.objects.length;
      for (const t of drift.terms) {
        const key = `${t.attribute}.${t.value}`;
        const hits = OBJECT_ATTRS.has(t.attribute)
          ? scene.objects.filter((o) => (o as unknown as Record<string, string>)[t.attribute] === t.value).length
          : Number((scene.background as unknown as Record<string, string>)[t.attribute === "background" ? "colour" : "texture"] === t.value);
        st.counts[key] = (st.counts[key] ?? 0) + hits;
      }
    }
    const id = String(i).padStart(digits, "0");
    lines.push(JSON.stringify(toyRecord(scene, id, withMasks)));
    const { width, height } = scene;
    const writes = [pngOf(scene.rgb, width, height, 3).toFile(path.join(outDir, "images", `${id}.png`))];
    if (withMasks) {
      writes.push(pngOf(scene.mask, width, height, 1).toFile(path.join(outDir, "masks", `${id}.png`)));
      writes.push(pngOf(scene.colourMask, width, height, 1).toFile(path.join(outDir, "colour_masks", `${id}.png`)));
    }
    const p: Promise<unknown> = Promise.all(writes).then(() => {
      pending.delete(p);
      done++;
      opts.onProgress?.(done, n);
    });
    pending.add(p);
    if (pending.size >= concurrency) await Promise.race(pending);
  }
  try {
    await Promise.all(pending);
  } catch (e) {
    throw new ClipNadError(`cannot write image (${(e as Error).message})`, { file: outDir });
  }
  fs.writeFileSync(indexPath, lines.join("\n") + "\n");
  let years: YearStats[] | undefined;
  if (drift) {
    years = [...stats.values()].sort((a, b) => a.year - b.year).map(({ counts, ...st }) => {
      for (const t of drift.terms) {
        const key = `${t.attribute}.${t.value}`;
        st.realised[key] = (counts[key] ?? 0) / (OBJECT_ATTRS.has(t.attribute) ? st.objects : st.scenes);
      }
      return st;
    });
  }
  const meta = {
    generator: "clip-nad toyworld",
    seed,
    n,
    size,
    ...(opts.canvas ? { canvas: { width: opts.canvas.width, height: opts.canvas.height } } : {}),
    supersample: opts.supersample ?? 2,
    minObjects: opts.minObjects ?? 1,
    maxObjects: opts.maxObjects ?? 4,
    probabilities: opts.probabilities ?? {},
    drift: drift ?? null,
    years: years ?? null,
    vocabulary: { shapes: SHAPES, colours: COLOURS, patterns: PATTERNS, sizes: SIZES, textures: TEXTURES },
    maskClasses: SHAPE_CLASSES,
    colourMaskClasses: COLOUR_CLASSES,
  };
  fs.writeFileSync(path.join(outDir, "dataset.json"), JSON.stringify(meta, null, 1) + "\n");
  return { outDir, n, years };
}
