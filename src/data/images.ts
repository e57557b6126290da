import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { readToyDataset } from "./toy";
import { IMAGE_EXTENSIONS, isImageName, relativeId } from "./files";

/**
 * The one image lister of clip-nad: every command that takes images (embed, collect, analyses) lists them here,
 * so the same folder gives the same images in the same order everywhere.
 *  - a folder: every image file below it (recursive; dot-files and dot-folders skipped), or — for a toy-world
 *    dataset folder (index.jsonl) — its scene images (not its masks);
 *  - a list of files and/or folders: in the order given, each folder expanded as above (sorted within it);
 *  - a reader's `{ root, items }` (src/data).
 * An image's id is its path relative to the root, with "/" separators (for a list: the path as given). A folder's
 * items are sorted by id in code-point order (Python's `sorted()`); a list is an order the caller chose and is kept.
 * Whether a listed file decodes is decided when it is read:
 * unreadable images are skipped and reported by the command (one policy).
 */
export interface ImageItem {
  /** The image's path relative to the dataset root, "/"-separated (the path itself when there is no root). */
  id: string;
  /** Where to read it. */
  path: string;
}

export type ImageSource = string | string[] | { root?: string; items: ImageItem[] };

export interface ImageList {
  /** Absolute root the ids are relative to ("" for a list of files). */
  root: string;
  items: ImageItem[];
}

export { IMAGE_EXTENSIONS, isImageName } from "./files";

export function sortById(items: ImageItem[]): ImageItem[] {
  return items.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every image file under `dir` (recursive), ids relative to `dir`, sorted. */
function walkFolder(dir: string): ImageItem[] {
  const items: ImageItem[] = [];
  const walk = (abs: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      throw new ClipNadError(`image folder cannot be read (${(e as Error).message})`, { file: abs });
    }
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const a = path.join(abs, e.name);
      if (e.isDirectory()) walk(a);
      else if ((e.isFile() || e.isSymbolicLink()) && isImageName(e.name)) items.push({ id: relativeId(dir, a), path: a });
    }
  };
  walk(dir);
  return sortById(items);
}

function folderImages(dir: string): ImageList {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new ClipNadError(`no such image file or folder (${(e as Error).message})`, { file: dir });
  }
  if (!st.isDirectory()) throw new ClipNadError("not a folder (expected a folder of images)", { file: dir });
  const root = path.resolve(dir);
  if (fs.existsSync(path.join(root, "index.jsonl"))) {
    return { root, items: sortById(readToyDataset(root).items.map((it) => ({ id: it.id, path: it.path }))) };
  }
  const items = walkFolder(root);
  if (items.length === 0) {
    throw new ClipNadError(`no images found in this folder (looked for ${IMAGE_EXTENSIONS.join(", ")}, recursively)`, { file: dir });
  }
  return { root, items };
}

/** Resolve any accepted source into a sorted item list and its root. */
export function listImages(source: ImageSource): ImageList {
  if (typeof source === "string") return folderImages(source);
  if (Array.isArray(source)) {
    if (source.length === 0) throw new ClipNadError("the list of images is empty");
    const items: ImageItem[] = [];
    for (const p of source) {
      if (!fs.existsSync(p)) throw new ClipNadError("no such image file or folder", { file: p });
      if (fs.statSync(p).isDirectory()) {
        for (const it of folderImages(p).items) items.push({ id: `${p.replace(/[\\/]+$/, "")}/${it.id}`, path: it.path });
      } else items.push({ id: p, path: path.resolve(p) });
    }
    return { root: "", items: checkUnique(items, "") };
  }
  if (!source || !Array.isArray(source.items) || source.items.length === 0) {
    throw new ClipNadError("the dataset has no images", { file: source?.root });
  }
  const root = source.root ? path.resolve(source.root) : "";
  return { root, items: checkUnique(sortById(source.items), root) };
}

function checkUnique(items: ImageItem[], root: string): ImageItem[] {
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.id)) throw new ClipNadError(`image '${it.id}' is listed twice`, { file: root || undefined });
    seen.add(it.id);
  }
  return items;
}
