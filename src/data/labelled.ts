import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { ATTRIBUTES, AttributeName } from "../toyworld/vocab";
import { ImageItem, listImages, sortById } from "./images";
import { Dataset } from "./types";
import { readToyDataset } from "./toy";
import { readImageNetVal } from "./imagenet";

const CLASS_NAMES_FILE = path.join(__dirname, "..", "..", "assets", "text", "class_names.json");

/**
 * Labelled image sets for the zero-shot analyses:
 *  - an image folder with one sub-folder per class (label = first path segment), classes from a text file
 *    (one name per line; the sub-folder name must match a line) or, without a file, the sorted sub-folder names;
 *  - a toy-world dataset (index.jsonl + images/) with `toy:<attribute>` (shape, colour, pattern, size,
 *    background, texture): classes = the attribute's values, label = the scene's dominant-object attribute;
 *  - ImageNet val with `imagenet` (src/data reader; either layout), classes = CLIP's curated names
 *    (assets/text/class_names.json), as the paper's zero-shot classifier.
 * The dataset readers are src/data's.
 */
export interface LabelledImages {
  classNames: string[];
  /** Sorted by id, like a collection's rows. */
  items: ImageItem[];
  /** Label (class index) per item id. */
  labelOf: Map<string, number>;
  root: string;
}

export function loadLabelledImages(dir: string, classes?: string): LabelledImages {
  if (classes && classes.startsWith("toy:")) return loadToyLabels(dir, classes.slice(4));
  if (classes === "imagenet") return fromDataset(readImageNetVal(dir), curatedImageNetNames() ?? undefined);
  const { root, items } = listImages(dir);
  let classNames: string[];
  if (classes) {
    let text: string;
    try {
      text = fs.readFileSync(classes, "utf8");
    } catch (e) {
      throw new ClipNadError(`cannot read the class list (${(e as Error).message})`, { file: classes });
    }
    classNames = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
    if (classNames.length === 0) throw new ClipNadError("class list is empty (expected one class name per line)", { file: classes });
  } else {
    classNames = [...new Set(items.filter((it) => it.id.includes("/")).map((it) => it.id.split("/")[0]))].sort();
  }
  const index = new Map(classNames.map((c, i) => [c, i] as [string, number]));
  // Sub-folders may use the class name with underscores for spaces ("golden_retriever").
  classNames.forEach((c, i) => index.set(c.replace(/ /g, "_"), i));
  const labelOf = new Map<string, number>();
  for (const it of items) {
    const slash = it.id.indexOf("/");
    if (slash < 0) throw new ClipNadError(`image '${it.id}' is not inside a class sub-folder (expected DIR/<class>/<image>)`, { file: dir });
    const folder = it.id.slice(0, slash);
    const label = index.get(folder);
    if (label === undefined) {
      throw new ClipNadError(`sub-folder '${folder}' is not a class of ${classes ?? "the folder"} (${classNames.slice(0, 5).join(", ")}${classNames.length > 5 ? ", …" : ""})`, { file: path.join(dir, folder) });
    }
    labelOf.set(it.id, label);
  }
  return { classNames, items, labelOf, root };
}

function loadToyLabels(dir: string, attribute: string): LabelledImages {
  if (!(attribute in ATTRIBUTES)) {
    throw new ClipNadError(`unknown toy attribute '${attribute}' (use toy:${Object.keys(ATTRIBUTES).join(", toy:")})`);
  }
  return fromDataset(readToyDataset(dir, { labelBy: attribute as AttributeName }));
}

/** CLIP's curated ImageNet class names (the paper's zero-shot names), in label order. */
function curatedImageNetNames(): string[] | null {
  try {
    const names = JSON.parse(fs.readFileSync(CLASS_NAMES_FILE, "utf8")).imagenet_classes as unknown;
    return Array.isArray(names) && names.length === 1000 ? names.map(String) : null;
  } catch {
    return null;
  }
}

/** Any labelled src/data Dataset (items with `label`, `classNames`). */
export function fromDataset(ds: Dataset, classNames?: string[]): LabelledImages {
  const names = classNames ?? ds.classNames;
  if (!names || names.length === 0) throw new ClipNadError(`dataset '${ds.name}' has no class names`, { file: ds.root });
  const labelOf = new Map<string, number>();
  for (const it of ds.items) {
    if (it.label === undefined) throw new ClipNadError(`image '${it.id}' has no label`, { file: ds.root });
    labelOf.set(it.id, it.label);
  }
  const items = sortById(ds.items.map((it) => ({ id: it.id, path: it.path })));
  return { classNames: names.slice(), items, labelOf, root: ds.root };
}
