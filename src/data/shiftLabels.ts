/**
 * Per-image binary labels for the distribution-shift monitor (paper.md §A.10), as a CSV with the columns
 * `image` (the image id as a collection stores it: the path relative to the image root), `label` (0 or 1) and
 * optionally `group` (e.g. the year). Writers for the two settings: Stanford Cars ("yellow" = refined colour id 9,
 * "convertible" = 'Convertible' in the class name, group = model year) and toy-world datasets (a drift term's
 * attribute value, group = the drift year).
 */
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { writeFileAtomic } from "../io/atomic";
import { YearStats } from "../toyworld/dataset";
import { resolveAttributeValue } from "../toyworld/drift";
import { parseCsv, readText, relativeId } from "./files";
import { readToyDataset } from "./toy";
import { Dataset } from "./types";

export interface ShiftLabel {
  /** Image id as the collection stores it (path relative to the image root, "/"-separated). */
  image: string;
  label: 0 | 1;
  group?: string;
}

/** Refined Stanford Cars colour id of yellow (stanford_cars_refined, paper.md §A.10). */
export const CARS_YELLOW_COLOUR_ID = 9;

export type CarsConcept = "yellow" | "convertible";

/** Read labels.csv (columns image, label = 0/1, optional group). Every problem names the file and the row. */
export function readShiftLabels(file: string): ShiftLabel[] {
  const rows = parseCsv(readText(file, "labels CSV"));
  if (rows.length === 0) {
    throw new ClipNadError("the labels CSV is empty (expected a header row image,label[,group])", { file });
  }
  const header = rows[0].map((h) => h.trim());
  const col = (name: string) => header.indexOf(name);
  for (const name of ["image", "label"]) {
    if (col(name) < 0) {
      throw new ClipNadError(
        `the labels CSV has no '${name}' column (columns: ${header.join(", ")})`,
        { file, key: name },
      );
    }
  }
  const [ci, cl, cg] = [col("image"), col("label"), col("group")];
  const seen = new Map<string, number>();
  const out: ShiftLabel[] = [];
  rows.slice(1).forEach((r, k) => {
    const line = k + 2;
    const image = (r[ci] ?? "").trim();
    const raw = (r[cl] ?? "").trim();
    if (!image) throw new ClipNadError(`row ${line}: empty image id`, { file, key: "image" });
    if (raw !== "0" && raw !== "1") {
      throw new ClipNadError(`row ${line}: label '${raw}' of '${image}' is not 0 or 1`, { file, key: "label" });
    }
    if (seen.has(image)) {
      throw new ClipNadError(
        `row ${line}: image '${image}' is labelled twice (first on row ${seen.get(image)})`,
        { file, key: image },
      );
    }
    seen.set(image, line);
    const item: ShiftLabel = { image, label: raw === "1" ? 1 : 0 };
    if (cg >= 0) {
      const g = (r[cg] ?? "").trim();
      if (g) item.group = g;
    }
    out.push(item);
  });
  if (out.length === 0) throw new ClipNadError("the labels CSV has a header but no rows", { file });
  return out;
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Write labels.csv (atomically); the group column only when some label has a group. */
export function writeShiftLabels(file: string, labels: readonly ShiftLabel[]): void {
  if (labels.length === 0) throw new ClipNadError("no labels to write", { file });
  const grouped = labels.some((l) => l.group !== undefined);
  const lines = [grouped ? "image,label,group" : "image,label"];
  for (const l of labels) {
    const cells = [csvCell(l.image), String(l.label)];
    if (grouped) cells.push(csvCell(l.group ?? ""));
    lines.push(cells.join(","));
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, lines.join("\n") + "\n");
}

/** The deepest folder holding every item (a dataset's image folder). */
export function commonFolder(paths: readonly string[]): string {
  if (paths.length === 0) return "";
  let parts = path.dirname(path.resolve(paths[0])).split(path.sep);
  for (const p of paths) {
    const q = path.dirname(path.resolve(p)).split(path.sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(path.sep) || path.sep;
}

export interface CarsLabelOptions {
  /** Ids are written relative to this folder (default: the folder holding the images, e.g. <root>/cars_train). */
  root?: string;
}

/**
 * Stanford Cars labels (a dataset from readStanfordCars): "yellow" = the refined colour id 9 (images without a
 * colour id are skipped, as the paper skips images missing from the CSV; read the dataset with `colourCsv`),
 * "convertible" = 'Convertible' in the class name. Group = the model year from the class name.
 */
export function carsShiftLabels(ds: Dataset, concept: CarsConcept, opts: CarsLabelOptions = {}): ShiftLabel[] {
  if (concept !== "yellow" && concept !== "convertible") {
    throw new ClipNadError(
      `Stanford Cars concept must be 'yellow' or 'convertible', got '${concept}'`,
      { file: ds.root },
    );
  }
  const root = path.resolve(opts.root ?? commonFolder(ds.items.map((it) => it.path)));
  const out: ShiftLabel[] = [];
  for (const it of ds.items) {
    let label: 0 | 1;
    if (concept === "yellow") {
      const colour = it.meta?.colourId;
      if (typeof colour !== "number") continue;
      label = colour === CARS_YELLOW_COLOUR_ID ? 1 : 0;
    } else {
      if (it.labelName === undefined) {
        throw new ClipNadError(`image '${it.id}' has no class name`, { file: ds.root, key: it.id });
      }
      label = /\bconvertible\b/i.test(it.labelName) ? 1 : 0;
    }
    const l: ShiftLabel = { image: relativeId(root, path.resolve(it.path)), label };
    if (it.year !== undefined) l.group = String(it.year);
    out.push(l);
  }
  if (out.length === 0) {
    throw new ClipNadError(
      concept === "yellow" ? "no image has a colour id: read the dataset with the refined colour CSV" : "no images",
      { file: ds.root },
    );
  }
  return out;
}

export interface ToyLabelOptions {
  /**
   * Which scenes count as positive for an object attribute: "any" object has the value (default; the drift's
   * realised share counts objects), or the "dominant" (largest) object has it. Background attributes use the
   * scene's background.
   */
  rule?: "any" | "dominant";
}

/**
 * Toy-world labels for a concept "attribute.value" or a bare value ("yellow" = colour.yellow), one per scene,
 * with the drift year as the group. Ids are relative to the dataset folder (as `listImages` of that folder gives).
 */
export function toyShiftLabels(dir: string, concept: string, opts: ToyLabelOptions = {}): ShiftLabel[] {
  const { attribute, value } = resolveAttributeValue(concept);
  const rule = opts.rule ?? "any";
  if (rule !== "any" && rule !== "dominant") {
    throw new ClipNadError(`label rule must be 'any' or 'dominant', got '${rule}'`);
  }
  const ds = readToyDataset(dir);
  return ds.items.map((it) => {
    type Attrs = Record<string, string>;
    const meta = it.meta as { objects: Attrs[]; background: Attrs; labels: Attrs };
    let hit: boolean;
    if (attribute === "background") hit = meta.background.colour === value;
    else if (attribute === "texture") hit = meta.background.texture === value;
    else if (rule === "dominant") hit = meta.labels[attribute] === value;
    else hit = meta.objects.some((o) => o[attribute] === value);
    const l: ShiftLabel = { image: it.id, label: hit ? 1 : 0 };
    if (it.year !== undefined) l.group = String(it.year);
    return l;
  });
}

/** The drift years a toy-world dataset.json records (target and realised share per drift term). */
export function toyDriftYears(dir: string): YearStats[] {
  const file = path.join(dir, "dataset.json");
  let meta: { years?: YearStats[] | null };
  try {
    meta = JSON.parse(readText(file, "toy-world dataset.json"));
  } catch (e) {
    if (e instanceof ClipNadError) throw e;
    throw new ClipNadError(`invalid JSON (${(e as Error).message})`, { file });
  }
  if (!Array.isArray(meta.years) || meta.years.length === 0) {
    throw new ClipNadError(
      'the dataset has no drift years (write it with a drift spec, e.g. --drift "yellow:0.05->0.4,years:2000-2010")',
      { file, key: "years" },
    );
  }
  return meta.years;
}

/** The dataset.json key of a toy concept ("yellow" → "colour.yellow"). */
export function toyConceptKey(concept: string): string {
  const { attribute, value } = resolveAttributeValue(concept);
  return `${attribute}.${value}`;
}
