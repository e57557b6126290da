import * as fs from "fs";
import * as path from "path";
import { createHash } from "crypto";
import { ClipNadError } from "../errors";
import { readToyDataset } from "../data/toy";

/** One image of a dataset: a stable id (relative path for folders) and where to read it. */
export interface ImageItem { id: string; path: string }

/**
 * What `collect` accepts as a dataset: a folder (all images below it, or a toy-world dataset's scene images),
 * a list of paths, or a reader's `{ items }`.
 */
export type ImageSource = string | string[] | { root?: string; items: ImageItem[] };

export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".avif"];

/** Selection options, applied in this order: sort → stride → limit → shard. */
export interface SelectOptions {
  /** Keep every S-th image of the sorted list (the paper: every 5th of its 5,000 → 1,000). */
  stride?: number;
  /** Keep at most this many (after stride). */
  limit?: number;
  /** Keep positions p with p % n == i (after stride and limit). */
  shard?: { index: number; count: number };
}

/** All image files under `dir` (recursive), ids = posix relative paths, sorted by id (code-point order). */
export function listImageFolder(dir: string): ImageItem[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new ClipNadError(`image folder cannot be read (${(e as Error).message})`, { file: dir });
  }
  if (!st.isDirectory()) throw new ClipNadError("not a folder (expected a folder of images)", { file: dir });
  const items: ImageItem[] = [];
  const walk = (abs: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      throw new ClipNadError(`image folder cannot be read (${(e as Error).message})`, { file: abs });
    }
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const a = path.join(abs, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(a, r);
      else if (IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) items.push({ id: r, path: a });
    }
  };
  walk(dir, "");
  if (items.length === 0) {
    throw new ClipNadError(`no images found in this folder (looked for ${IMAGE_EXTENSIONS.join(", ")}, recursively)`, { file: dir });
  }
  return sortItems(items);
}

function sortItems(items: ImageItem[]): ImageItem[] {
  return items.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The scene images of a toy-world dataset folder (index.jsonl + images/; `clip-nad toyworld`), read by src/data
 * (ids = record ids, "000000"), or null when `dir` is not one. Masks are not images to collect.
 */
export function toyDatasetItems(dir: string): ImageItem[] | null {
  if (!fs.existsSync(path.join(dir, "index.jsonl"))) return null;
  return sortItems(readToyDataset(dir).items.map((it) => ({ id: it.id, path: it.path })));
}

/** Resolve any accepted source into a sorted item list and a root description (for the manifest). */
export function resolveImageSource(source: ImageSource): { root: string; items: ImageItem[] } {
  if (typeof source === "string") return { root: path.resolve(source), items: toyDatasetItems(source) ?? listImageFolder(source) };
  if (Array.isArray(source)) {
    if (source.length === 0) throw new ClipNadError("the list of images is empty");
    return { root: "", items: sortItems(source.map((p) => ({ id: p, path: p }))) };
  }
  if (!source.items || source.items.length === 0) throw new ClipNadError("the dataset has no images", { file: source.root });
  const seen = new Set<string>();
  for (const it of source.items) {
    if (seen.has(it.id)) throw new ClipNadError(`duplicate image id '${it.id}' in dataset`, { file: source.root });
    seen.add(it.id);
  }
  return { root: source.root ?? "", items: sortItems(source.items) };
}

/** Indices (into the sorted list) selected by stride, limit and shard. */
export function selectIndices(total: number, opts: SelectOptions): number[] {
  const stride = opts.stride ?? 1;
  if (!Number.isInteger(stride) || stride < 1) throw new ClipNadError(`stride must be a positive integer, got ${opts.stride}`);
  let idx: number[] = [];
  for (let i = 0; i < total; i += stride) idx.push(i);
  if (opts.limit !== undefined) {
    if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new ClipNadError(`limit must be a positive integer, got ${opts.limit}`);
    idx = idx.slice(0, opts.limit);
  }
  if (opts.shard) {
    const { index, count } = opts.shard;
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
      throw new ClipNadError(`shard must be i/n with 0 ≤ i < n, got ${index}/${count}`);
    }
    idx = idx.filter((_, p) => p % count === index);
  }
  return idx;
}

/** Parse "i/n" (CLI form of a shard). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new ClipNadError(`--shard must look like i/n (e.g. 0/4), got '${text}'`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  if (shard.count < 1 || shard.index >= shard.count) throw new ClipNadError(`--shard ${text}: need 0 ≤ i < n`);
  return shard;
}

/** sha256 of the sorted id list: identifies "the same images" for resume and merge. */
export function hashIds(items: readonly ImageItem[]): string {
  const h = createHash("sha256");
  for (const it of items) h.update(it.id).update("\n");
  return h.digest("hex");
}
