/** Toy-world datasets written by `clip-nad toyworld` (index.jsonl + images/ + masks/). */
import * as path from "path";
import { ClipNadError } from "../errors";
import { ATTRIBUTES, AttributeName } from "../toyworld/vocab";
import { readText, relativeId, requireDir } from "./files";
import { Dataset, DatasetItem } from "./types";

export interface ToyDatasetReadOptions {
  /** Which attribute of the dominant object (or background) is the class label (default "shape"). */
  labelBy?: AttributeName;
}

export function readToyDataset(root: string, opts: ToyDatasetReadOptions = {}): Dataset {
  requireDir(root, "toy-world dataset");
  const index = path.join(root, "index.jsonl");
  const labelBy = opts.labelBy ?? "shape";
  if (!(labelBy in ATTRIBUTES)) throw new ClipNadError(`unknown label attribute '${labelBy}'`, { file: index });
  const classNames = ATTRIBUTES[labelBy] as readonly string[];
  const lines = readText(index, "toy-world index.jsonl").split(/\r?\n/);
  const items: DatasetItem[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw new ClipNadError(`line ${i + 1} is not JSON (${(e as Error).message})`, { file: index });
    }
    const labels = rec.labels as Record<string, string> | undefined;
    if (typeof rec.id !== "string" || typeof rec.image !== "string" || !labels) {
      throw new ClipNadError(`line ${i + 1} lacks id / image / labels`, { file: index, key: `line ${i + 1}` });
    }
    const label = classNames.indexOf(labels[labelBy]);
    if (label < 0) throw new ClipNadError(`line ${i + 1}: unknown ${labelBy} '${labels[labelBy]}'`, { file: index, key: rec.id });
    const item: DatasetItem = {
      id: relativeId(path.resolve(root), path.resolve(root, rec.image)), path: path.resolve(root, rec.image), label, labelName: classNames[label],
      meta: { record: rec.id, captions: rec.captions, labels, objects: rec.objects, background: rec.background },
    };
    if (typeof rec.mask === "string") item.maskPath = path.resolve(root, rec.mask);
    if (typeof rec.colour_mask === "string") item.meta!.colourMaskPath = path.resolve(root, rec.colour_mask);
    if (typeof rec.year === "number") item.year = rec.year;
    items.push(item);
  });
  if (items.length === 0) throw new ClipNadError("index has no records", { file: index });
  return { name: "toyworld", root: path.resolve(root), items, classNames: classNames.slice() };
}
