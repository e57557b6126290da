/**
 * ImageNet (ILSVRC2012) readers.
 * val, either layout:
 *   - class sub-folders: <root>[/val]/n01440764/*.JPEG …
 *   - flat: <root>[/val]/ILSVRC2012_val_00000001.JPEG … with labels from
 *       LOC_val_solution.csv (Kaggle: ImageId,PredictionString = "<wnid> x1 y1 x2 y2 …"), or
 *       ILSVRC2012_validation_ground_truth.txt (ILSVRC2012_ID per line, line i = image i) plus the devkit mapping
 *       ILSVRC2012_ID → WNID from data/meta.mat (synsets struct) or map_clsloc.txt ("<wnid> <id> <name>").
 * test: flat, unlabelled; the paper's subsample = every 20th file in sorted order, then every `stride`-th of those.
 * Labels are 0..999 in the order of assets/text/imagenet_class_index.json (sorted WNIDs).
 */
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { firstExisting, isImageName, readCsvRecords, readText, relativeId, requireDir, sortNames, stem } from "./files";
import { matNumber, matString, readMat } from "./matfile";
import { Dataset, DatasetItem } from "./types";

export const DEFAULT_CLASS_INDEX = path.join(__dirname, "..", "..", "assets", "text", "imagenet_class_index.json");
const WNID = /^n\d{8}$/;

export interface ImageNetClasses {
  wnids: string[];
  names: string[];
  indexOf: Map<string, number>;
}

export function readImageNetClasses(file = DEFAULT_CLASS_INDEX): ImageNetClasses {
  let json: Record<string, [string, string]>;
  try {
    json = JSON.parse(readText(file, "ImageNet class index"));
  } catch (e) {
    if (e instanceof ClipNadError) throw e;
    throw new ClipNadError(`invalid JSON (${(e as Error).message})`, { file });
  }
  const n = Object.keys(json).length;
  const wnids: string[] = [], names: string[] = [];
  for (let i = 0; i < n; i++) {
    const entry = json[String(i)];
    if (!entry || !WNID.test(entry[0])) throw new ClipNadError(`entry ${i} is not [wnid, name]`, { file, key: String(i) });
    wnids.push(entry[0]);
    names.push(entry[1].replace(/_/g, " "));
  }
  return { wnids, names, indexOf: new Map(wnids.map((w, i) => [w, i])) };
}

function imageFiles(dir: string): string[] {
  return sortNames(fs.readdirSync(dir).filter((f) => isImageName(f) && fs.statSync(path.join(dir, f)).isFile()));
}

function subfolder(root: string, name: string): string {
  const sub = path.join(root, name);
  return fs.existsSync(sub) && fs.statSync(sub).isDirectory() ? sub : root;
}

/** ILSVRC2012_ID → WNID from the devkit (meta.mat or map_clsloc.txt). */
function devkitMapping(root: string): Map<number, string> {
  const roots = [root, path.dirname(root)];
  const candidates = roots.flatMap((r) => [
    path.join(r, "ILSVRC2012_devkit_t12", "data", "meta.mat"), path.join(r, "devkit", "data", "meta.mat"), path.join(r, "data", "meta.mat"), path.join(r, "meta.mat"),
    path.join(r, "ILSVRC2012_devkit_t12", "data", "map_clsloc.txt"), path.join(r, "map_clsloc.txt"),
  ]);
  const file = firstExisting(candidates);
  if (!file) {
    throw new ClipNadError("ILSVRC2012_validation_ground_truth.txt needs the devkit mapping ILSVRC2012_ID → WNID: missing ILSVRC2012_devkit_t12/data/meta.mat (or map_clsloc.txt)", { file: root });
  }
  const map = new Map<number, string>();
  if (file.endsWith(".txt")) {
    readText(file, "map_clsloc.txt").split(/\r?\n/).filter(Boolean).forEach((line, i) => {
      const [wnid, id] = line.trim().split(/\s+/);
      if (!WNID.test(wnid) || !Number.isInteger(Number(id))) throw new ClipNadError(`line ${i + 1} is not '<wnid> <id> <name>'`, { file });
      map.set(Number(id), wnid);
    });
    return map;
  }
  const synsets = readMat(file).get("synsets");
  if (!synsets || synsets.kind !== "struct") throw new ClipNadError("no 'synsets' struct array", { file, key: "synsets" });
  for (const el of synsets.elements) {
    const id = matNumber(el.ILSVRC2012_ID), wnid = matString(el.WNID);
    if (id === undefined || !wnid) throw new ClipNadError("synsets entry without ILSVRC2012_ID / WNID", { file, key: "synsets" });
    map.set(id, wnid);
  }
  return map;
}

function labelled(root: string, file: string, wnid: string, classes: ImageNetClasses, source: string): DatasetItem {
  const id = relativeId(root, file);
  const label = classes.indexOf.get(wnid);
  if (label === undefined) throw new ClipNadError(`unknown WNID '${wnid}' for image ${id}`, { file: source, key: id });
  return { id, path: file, label, labelName: classes.names[label], meta: { wnid } };
}

export interface ImageNetValOptions {
  classIndexPath?: string;
}

export function readImageNetVal(rootDir: string, opts: ImageNetValOptions = {}): Dataset {
  requireDir(rootDir, "ImageNet val");
  const root = path.resolve(rootDir);
  const classes = readImageNetClasses(opts.classIndexPath);
  const dir = subfolder(root, "val");
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  const classDirs = sortNames(entries.filter((e) => e.isDirectory() && WNID.test(e.name)).map((e) => e.name));
  const base: Omit<Dataset, "items"> = { name: "imagenet-val", root: path.resolve(root), classNames: classes.names };
  if (classDirs.length > 0) {
    const items: DatasetItem[] = [];
    for (const wnid of classDirs) {
      for (const f of imageFiles(path.join(dir, wnid))) items.push(labelled(root, path.resolve(dir, wnid, f), wnid, classes, path.join(dir, wnid)));
    }
    if (items.length === 0) throw new ClipNadError("class sub-folders contain no images", { file: dir });
    return { ...base, items };
  }
  const files = imageFiles(dir);
  if (files.length === 0) throw new ClipNadError("no images and no n######## class sub-folders", { file: dir });
  const search = [dir, root, path.dirname(root)];
  const locCsv = firstExisting(search.map((d) => path.join(d, "LOC_val_solution.csv")));
  if (locCsv) {
    const byId = new Map(readCsvRecords(locCsv, "LOC_val_solution.csv", ["ImageId", "PredictionString"]).map((r) => [r.ImageId, r.PredictionString.split(/\s+/)[0]]));
    const items = files.map((f) => {
      const wnid = byId.get(stem(f));
      if (!wnid) throw new ClipNadError(`no row for image '${stem(f)}'`, { file: locCsv, key: stem(f) });
      return labelled(root, path.resolve(dir, f), wnid, classes, locCsv);
    });
    return { ...base, items };
  }
  const gt = firstExisting(search.flatMap((d) => [path.join(d, "ILSVRC2012_validation_ground_truth.txt"), path.join(d, "ILSVRC2012_devkit_t12", "data", "ILSVRC2012_validation_ground_truth.txt")]));
  if (!gt) {
    throw new ClipNadError("flat ImageNet val folder without labels: missing LOC_val_solution.csv or ILSVRC2012_validation_ground_truth.txt (+ devkit meta.mat)", { file: dir });
  }
  const ids = readText(gt, "ground truth").split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map(Number);
  const mapping = devkitMapping(root);
  const items = files.map((f) => {
    const m = /(\d+)$/.exec(stem(f));
    if (!m) throw new ClipNadError(`cannot read the image number from '${f}' (expected ILSVRC2012_val_<number>)`, { file: path.join(dir, f) });
    const id = ids[Number(m[1]) - 1];
    if (id === undefined) throw new ClipNadError(`no ground-truth line ${Number(m[1])} for '${f}'`, { file: gt, key: stem(f) });
    const wnid = mapping.get(id);
    if (!wnid) throw new ClipNadError(`ILSVRC2012_ID ${id} (image '${f}') not in the devkit mapping`, { file: gt, key: stem(f) });
    return labelled(root, path.resolve(dir, f), wnid, classes, gt);
  });
  return { ...base, items };
}

export interface ImageNetTestOptions {
  /** Keep every `every`-th file of the sorted list (default 20, the paper's subsample). */
  every?: number;
  /** Then keep every `stride`-th of those (default 1). */
  stride?: number;
}

export function readImageNetTest(rootDir: string, opts: ImageNetTestOptions = {}): Dataset {
  requireDir(rootDir, "ImageNet test");
  const root = path.resolve(rootDir);
  const every = opts.every ?? 20, stride = opts.stride ?? 1;
  if (!(Number.isInteger(every) && every >= 1 && Number.isInteger(stride) && stride >= 1)) {
    throw new ClipNadError(`every (${every}) and stride (${stride}) must be positive integers`, { file: root });
  }
  const dir = subfolder(root, "test");
  const files = imageFiles(dir);
  if (files.length === 0) throw new ClipNadError("no test images", { file: dir });
  const picked = files.filter((_, i) => i % every === 0).filter((_, i) => i % stride === 0);
  return { name: "imagenet-test", root: path.resolve(root), items: picked.map((f) => ({ id: relativeId(root, path.resolve(dir, f)), path: path.resolve(dir, f) })) };
}
