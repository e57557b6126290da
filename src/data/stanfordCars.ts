/**
 * Stanford Cars. Annotations from the devkit .mat files (devkit/cars_meta.mat: class_names; devkit/cars_train_annos.mat,
 * cars_test_annos_withlabels.mat: struct array `annotations` with bbox_x1..bbox_y2, class, fname), or from the common
 * exports: names.csv (one class name per line) + anno_train.csv / anno_test.csv (fname,x1,y1,x2,y2,class; no header),
 * or JSON (cars_meta.json {class_names}, cars_<split>_annos.json [{fname, class, bbox_x1…}]).
 * Images: <root>/cars_train/, <root>/cars_test/ (or <root>/<split>/). Class ids are 1-based in the files, labels 0-based.
 * The model year is the last word of the class name ("… SUV 2000"). Optional refined colour CSV: columns
 * `Class` = "<classid>_<colorid>" and `image` (file name); matching items get meta.colourId (and meta.csvClass).
 */
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { firstExisting, parseCsv, readCsvRecords, readText, relativeId, requireDir } from "./files";
import { MatValue, matNumber, matString, readMat } from "./matfile";
import { Dataset, DatasetItem } from "./types";

export interface StanfordCarsOptions {
  split?: "train" | "test";
  /** Refined colour CSV (`Class` = "<classid>_<colorid>", `image`). */
  colourCsv?: string;
  /** Keep only images listed in the colour CSV (default: false when no CSV). */
  onlyColoured?: boolean;
}

interface CarAnno { fname: string; cls: number; bbox?: [number, number, number, number] }

export function carYear(className: string): number | undefined {
  const last = className.trim().split(/\s+/).pop() ?? "";
  return /^(19|20)\d{2}$/.test(last) ? Number(last) : undefined;
}

function matClassNames(file: string): string[] {
  const v = readMat(file).get("class_names");
  if (!v || v.kind !== "cell") throw new ClipNadError("no 'class_names' cell array", { file, key: "class_names" });
  return v.cells.map((c, i) => {
    const s = matString(c);
    if (s === undefined) throw new ClipNadError(`class_names{${i + 1}} is not a string`, { file, key: "class_names" });
    return s;
  });
}

function matAnnotations(file: string): CarAnno[] {
  const v = readMat(file).get("annotations");
  if (!v || v.kind !== "struct") throw new ClipNadError("no 'annotations' struct array", { file, key: "annotations" });
  for (const f of ["fname"]) if (!v.fields.includes(f)) throw new ClipNadError(`annotations lack field '${f}'`, { file, key: `annotations.${f}` });
  const num = (el: Record<string, MatValue>, k: string) => matNumber(el[k]);
  return v.elements.map((el, i) => {
    const fname = matString(el.fname);
    if (!fname) throw new ClipNadError(`annotations(${i + 1}).fname is not a string`, { file, key: "annotations.fname" });
    const cls = num(el, "class") ?? 0;
    const box = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"].map((k) => num(el, k));
    return { fname, cls, bbox: box.every((b) => b !== undefined) ? (box as [number, number, number, number]) : undefined };
  });
}

function csvAnnotations(file: string): CarAnno[] {
  return parseCsv(readText(file, "annotation CSV")).filter((r) => !/fname|image/i.test(r[0])).map((r, i) => {
    if (r.length < 6) throw new ClipNadError(`row ${i + 1} needs fname,x1,y1,x2,y2,class`, { file });
    const nums = r.slice(1, 6).map(Number);
    if (nums.some((x) => !Number.isFinite(x))) throw new ClipNadError(`row ${i + 1} has non-numeric box/class`, { file });
    return { fname: r[0].trim(), cls: nums[4], bbox: nums.slice(0, 4) as [number, number, number, number] };
  });
}

function jsonFile(file: string): unknown {
  try {
    return JSON.parse(readText(file, "JSON"));
  } catch (e) {
    if (e instanceof ClipNadError) throw e;
    throw new ClipNadError(`invalid JSON (${(e as Error).message})`, { file });
  }
}

function loadNames(root: string): { names: string[]; source: string } {
  const f = firstExisting([path.join(root, "devkit", "cars_meta.mat"), path.join(root, "cars_meta.mat"), path.join(root, "devkit", "cars_meta.json"),
    path.join(root, "cars_meta.json"), path.join(root, "names.csv"), path.join(root, "devkit", "names.csv")]);
  if (!f) throw new ClipNadError("missing class names: devkit/cars_meta.mat (or cars_meta.json / names.csv)", { file: root });
  if (f.endsWith(".mat")) return { names: matClassNames(f), source: f };
  if (f.endsWith(".json")) {
    const names = (jsonFile(f) as { class_names?: unknown }).class_names;
    if (!Array.isArray(names)) throw new ClipNadError("no 'class_names' array", { file: f, key: "class_names" });
    return { names: names.map(String), source: f };
  }
  return { names: readText(f, "names.csv").split(/\r?\n/).map((s) => s.trim()).filter(Boolean), source: f };
}

function loadAnnotations(root: string, split: "train" | "test"): { annos: CarAnno[]; source: string } {
  const matNames = split === "train" ? ["cars_train_annos.mat"] : ["cars_test_annos_withlabels.mat", "cars_test_annos.mat"];
  const cands = [
    ...matNames.flatMap((n) => [path.join(root, "devkit", n), path.join(root, n)]),
    path.join(root, "devkit", `cars_${split}_annos.json`), path.join(root, `cars_${split}_annos.json`),
    path.join(root, `anno_${split}.csv`), path.join(root, "devkit", `anno_${split}.csv`),
  ];
  const f = firstExisting(cands);
  if (!f) throw new ClipNadError(`missing ${split} annotations: devkit/${matNames[0]} (or cars_${split}_annos.json / anno_${split}.csv)`, { file: root });
  if (f.endsWith(".mat")) return { annos: matAnnotations(f), source: f };
  if (f.endsWith(".csv")) return { annos: csvAnnotations(f), source: f };
  const arr = jsonFile(f);
  if (!Array.isArray(arr)) throw new ClipNadError("expected a JSON array of annotations", { file: f });
  return {
    source: f,
    annos: arr.map((a: Record<string, unknown>, i) => {
      if (typeof a.fname !== "string") throw new ClipNadError(`annotation ${i} has no fname`, { file: f, key: String(i) });
      const box = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"].map((k) => Number(a[k]));
      return { fname: a.fname, cls: Number(a.class ?? 0), bbox: box.every(Number.isFinite) ? (box as [number, number, number, number]) : undefined };
    }),
  };
}

export function readStanfordCars(root: string, opts: StanfordCarsOptions = {}): Dataset {
  requireDir(root, "Stanford Cars");
  const split = opts.split ?? "train";
  const { names } = loadNames(root);
  const { annos, source } = loadAnnotations(root, split);
  const imgDir = firstExisting([path.join(root, `cars_${split}`, `cars_${split}`), path.join(root, `cars_${split}`), path.join(root, split)]);
  if (!imgDir) throw new ClipNadError(`missing image folder cars_${split}/`, { file: root });
  let colours: Map<string, { cls: number; colour: number }> | undefined;
  if (opts.colourCsv) {
    colours = new Map();
    readCsvRecords(opts.colourCsv, "colour CSV", ["Class", "image"]).forEach((r, i) => {
      const m = /^(\d+)_(\d+)$/.exec(r.Class);
      if (!m) throw new ClipNadError(`row ${i + 2}: Class '${r.Class}' is not '<classid>_<colorid>'`, { file: opts.colourCsv, key: "Class" });
      colours!.set(path.basename(r.image), { cls: Number(m[1]), colour: Number(m[2]) });
    });
  }
  const items: DatasetItem[] = [];
  for (const a of annos) {
    const file = path.join(imgDir, a.fname);
    if (!fs.existsSync(file)) throw new ClipNadError(`image '${a.fname}' listed in the annotations is missing`, { file: imgDir, key: a.fname });
    const colour = colours?.get(path.basename(a.fname));
    if ((opts.onlyColoured ?? false) && !colour) continue;
    const item: DatasetItem = { id: relativeId(path.resolve(root), path.resolve(file)), path: path.resolve(file), meta: {} };
    if (a.cls >= 1) {
      if (a.cls > names.length) throw new ClipNadError(`class ${a.cls} of '${a.fname}' exceeds the ${names.length} class names`, { file: source, key: a.fname });
      item.label = a.cls - 1;
      item.labelName = names[a.cls - 1];
      const year = carYear(names[a.cls - 1]);
      if (year !== undefined) item.year = year;
    }
    if (a.bbox) item.meta!.bbox = a.bbox;
    if (colour) {
      item.meta!.colourId = colour.colour;
      item.meta!.csvClass = colour.cls;
    }
    items.push(item);
  }
  if (items.length === 0) throw new ClipNadError("no annotated images", { file: source });
  return { name: `stanford-cars-${split}`, root: path.resolve(root), items, classNames: names };
}
