import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { Collection } from "../collect/collection";
import { loadLabelledImages } from "../data/labelled";
import { readToyDataset } from "../data/toy";
import { ATTRIBUTE_NAMES, ATTRIBUTES } from "../toyworld/vocab";
import { readJson } from "../io/atomic";

/**
 * Ground-truth labels of a collection's rows, for reading top images: ImageNet classes and WordNet super-classes
 * (the paper's v1 polysemanticity), the toy world's attributes. Rows are matched to a dataset reader's items by
 * image file, so a collection of any sub-selection (stride, shard) is labelled; an image the dataset lacks is an error.
 */

/** Per-row labels of one kind for a collection: values[row] ≥ 0, or −1 for rows without one. */
export interface RowLabels {
  name: string;
  /** How many distinct values the labels can take (the count histogram's range). */
  classes: number;
  values: Int32Array;
  /** Names of the values, when known (toy attribute values, ImageNet class names). */
  names?: readonly string[];
}

/** The v1 mapping (paper's utils/wordnet/idx_to_super.json): 551 ImageNet class indices → 100 super-classes. */
export const IMAGENET_SUPERCLASSES = path.join(__dirname, "..", "..", "assets", "text",
  "imagenet_idx_to_superclass.json");

/** ImageNet class index → super-class (−1 for the classes the mapping does not cover), 1000 entries. */
export function readSuperclassMap(file = IMAGENET_SUPERCLASSES): { classToSuper: Int32Array; superclasses: number } {
  const raw = readJson<Record<string, unknown>>(file);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ClipNadError("expected a JSON object { class index: super-class }", { file });
  }
  const classToSuper = new Int32Array(1000).fill(-1);
  let supers = 0;
  for (const [k, v] of Object.entries(raw)) {
    const c = Number(k);
    if (!Number.isInteger(c) || c < 0 || c >= 1000) {
      throw new ClipNadError(`'${k}' is not an ImageNet class index (0..999)`, { file, key: k });
    }
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      const got = JSON.stringify(v);
      throw new ClipNadError(`super-class of ${k} must be a non-negative integer, got ${got}`, { file, key: k });
    }
    classToSuper[c] = v;
    supers = Math.max(supers, v + 1);
  }
  return { classToSuper, superclasses: supers };
}

/** Each row's label from a dataset's items (matched by resolved image file); every row must be found. */
function labelsFrom(
  collection: Collection, items: { path: string; label: number }[], imageRoot: string | undefined,
  what: string, dir: string,
): Int32Array {
  const rows = new Map<string, number>();
  for (let r = 0; r < collection.N; r++) rows.set(path.resolve(collection.imagePath(r, imageRoot)), r);
  const values = new Int32Array(collection.N).fill(-1);
  const found = new Uint8Array(collection.N);
  for (const it of items) {
    const r = rows.get(path.resolve(it.path));
    if (r === undefined) continue;
    values[r] = it.label;
    found[r] = 1;
  }
  const missing = found.indexOf(0);
  if (missing >= 0) {
    const n = found.reduce((acc, f) => acc + (f ? 0 : 1), 0);
    throw new ClipNadError(`${n} of the collection's ${collection.N} images are not in the ${what} (e.g. ` +
      `'${collection.ids[missing]}' at ${collection.imagePath(missing, imageRoot)}); is this the dataset the ` +
      "collection was made from?", { file: dir });
  }
  return values;
}

/** ImageNet super-classes of a collection's rows from the ImageNet val folder its images came from (v1). */
export function imagenetSuperclassLabels(
  collection: Collection, valDir: string, opts: { mapping?: string; imageRoot?: string } = {},
): RowLabels {
  const labelled = loadLabelledImages(valDir, "imagenet");
  const { classToSuper, superclasses } = readSuperclassMap(opts.mapping);
  const superOf = (id: string) => classToSuper[labelled.labelOf.get(id)!] ?? -1;
  const items = labelled.items.map((it) => ({ path: it.path, label: superOf(it.id) }));
  const values = labelsFrom(collection, items, opts.imageRoot, "ImageNet val folder", valDir);
  return { name: "WordNet super-classes", classes: superclasses, values };
}

/** ImageNet classes of a collection's rows (CLIP's class names), from the ImageNet val folder its images came from. */
export function imagenetClassLabels(
  collection: Collection, valDir: string, opts: { imageRoot?: string } = {},
): RowLabels {
  const labelled = loadLabelledImages(valDir, "imagenet");
  const items = labelled.items.map((it) => ({ path: it.path, label: labelled.labelOf.get(it.id)! }));
  const values = labelsFrom(collection, items, opts.imageRoot, "ImageNet val folder", valDir);
  return { name: "ImageNet classes", classes: labelled.classNames.length, values, names: labelled.classNames };
}

/** Each toy-world attribute of a collection's rows (the dominant object's, or the background's): ground truth. */
export function toyAttributeLabels(collection: Collection, datasetDir?: string, imageRoot?: string): RowLabels[] {
  let dir = datasetDir ?? imageRoot ?? collection.manifest.images.root;
  // A collection made from <dataset>/images has the dataset one folder up.
  if (!fs.existsSync(path.join(dir, "index.jsonl")) && fs.existsSync(path.join(dir, "..", "index.jsonl"))) {
    dir = path.join(dir, "..");
  }
  const ds = readToyDataset(dir);
  return ATTRIBUTE_NAMES.map((attr) => {
    const names = ATTRIBUTES[attr] as readonly string[];
    const valueOf = (labels: unknown) => names.indexOf((labels as Record<string, string>)[attr]);
    const items = ds.items.map((it) => ({ path: it.path, label: valueOf(it.meta!.labels) }));
    const values = labelsFrom(collection, items, imageRoot, "toy-world dataset", dir);
    return { name: attr, classes: names.length, values, names };
  });
}

/** How often each label occurs among some rows (−1 rows and unlabelled ones skipped), and how many rows there were. */
function labelCounts(labels: RowLabels, rows: ArrayLike<number>): { counts: Map<number, number>; of: number } {
  const counts = new Map<number, number>();
  let of = 0;
  for (let j = 0; j < rows.length; j++) {
    if (rows[j] < 0) continue;
    of++;
    const v = labels.values[rows[j]];
    if (v >= 0) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return { counts, of };
}

/** A label shared by some rows: its kind and name, how many of the rows have it, and its share among all rows. */
export interface SharedLabel {
  kind: string;
  name: string;
  count: number;
  of: number;
  base: number;
}

/**
 * The label most over-represented among some rows, across label kinds: the (kind, value) whose share among the rows
 * exceeds its share among all rows the most ("colour = yellow: 9 of 10, 10 % overall"); null when none is labelled.
 */
export function enrichedLabel(kinds: RowLabels[], rows: ArrayLike<number>): SharedLabel | null {
  let best: SharedLabel | null = null;
  let bestLift = -Infinity;
  for (const labels of kinds) {
    const all = labelCounts(labels, Int32Array.from({ length: labels.values.length }, (_, i) => i));
    let labelled = 0;
    for (const c of all.counts.values()) labelled += c;
    const { counts, of } = labelCounts(labels, rows);
    for (const [v, count] of [...counts].sort((a, b) => a[0] - b[0])) {
      const base = (all.counts.get(v) ?? 0) / Math.max(1, labelled);
      const lift = count / of - base;
      if (lift > bestLift) {
        bestLift = lift;
        best = { kind: labels.name, name: labels.names?.[v] ?? String(v), count, of, base };
      }
    }
  }
  return best;
}
