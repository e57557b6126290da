import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { ATTRIBUTES, AttributeName } from "../toyworld";
import { ImageItem, listImageFolder, toyDatasetItems } from "./images";

/**
 * Labelled image sets for the zero-shot analyses:
 *  - an image folder with one sub-folder per class (label = first path segment), classes from a text file
 *    (one name per line; the sub-folder name must match a line) or, without a file, the sorted sub-folder names;
 *  - a toy-world dataset (index.jsonl + images/) with `toy:<attribute>` (shape, colour, pattern, size,
 *    background, texture): classes = the attribute's values, label = the scene's dominant-object attribute.
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
  const items = listImageFolder(dir);
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
  return { classNames, items, labelOf, root: path.resolve(dir) };
}

function loadToyLabels(dir: string, attribute: string): LabelledImages {
  if (!(attribute in ATTRIBUTES)) {
    throw new ClipNadError(`unknown toy attribute '${attribute}' (use toy:${Object.keys(ATTRIBUTES).join(", toy:")})`);
  }
  const values = ATTRIBUTES[attribute as AttributeName] as readonly string[];
  const indexFile = path.join(dir, "index.jsonl");
  let text: string;
  try {
    text = fs.readFileSync(indexFile, "utf8");
  } catch (e) {
    throw new ClipNadError(`not a toy-world dataset (${(e as Error).message}); write one with \`clip-nad toyworld\``, { file: indexFile });
  }
  const items = toyDatasetItems(dir)!;
  const labelOf = new Map<string, number>();
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const rec = JSON.parse(line) as { image: string; labels?: Record<string, unknown> };
    const value = rec.labels?.[attribute];
    const label = values.indexOf(String(value));
    if (label < 0) throw new ClipNadError(`line ${i + 1}: label ${attribute}='${value}' is not one of ${values.join(", ")}`, { file: indexFile });
    labelOf.set(rec.image, label);
  });
  return { classNames: [...values], items, labelOf, root: path.resolve(dir) };
}
