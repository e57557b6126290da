import { ClipNadError } from "../errors";
import { readToyDataset } from "../data/toy";

/**
 * Ground truth for text labels on data whose contents are known (the toy world labels every scene's dominant
 * object and background): a unit whose top images mostly share an attribute value (e.g. ≥ 8 of its top 10 show a
 * red object) should carry that value among its top text words. Plain arrays in, counts out.
 */

/** An attribute value most of a unit's top images share. */
export interface SharedValue {
  attribute: string;
  value: string;
  /** How many of the top images have it. */
  count: number;
}

export interface SharedOptions {
  /** Top images looked at (default 10). */
  top?: number;
  /** How many of them must share the value (default 8). */
  min?: number;
}

/**
 * For every unit (rows of a units × k top-image table, best first; −1 = no image), the attribute values that at
 * least `min` of its first `top` images share. `imageLabels[row]` = attribute → value of that image.
 */
export function sharedAttributeValues(
  topRows: ArrayLike<number>,
  k: number,
  imageLabels: readonly Record<string, string>[],
  opts: SharedOptions = {},
): SharedValue[][] {
  const top = opts.top ?? 10;
  const min = opts.min ?? 8;
  if (!(top >= 1 && top <= k)) throw new ClipNadError(`top ${top} images asked for, the table keeps ${k} per unit`);
  if (!(min >= 1 && min <= top)) throw new ClipNadError(`min must be in 1..${top}, got ${min}`);
  const units = topRows.length / k;
  const out: SharedValue[][] = [];
  for (let u = 0; u < units; u++) {
    const counts = new Map<string, number>();
    let seen = 0;
    for (let j = 0; j < top; j++) {
      const row = topRows[u * k + j];
      if (row < 0) continue;
      const labels = imageLabels[row];
      if (!labels) throw new ClipNadError(`no labels for image row ${row}`);
      seen++;
      for (const [attribute, value] of Object.entries(labels)) {
        const key = `${attribute}\u0000${value}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    const shared: SharedValue[] = [];
    if (seen >= top) {
      for (const [key, count] of counts) {
        if (count < min) continue;
        const [attribute, value] = key.split("\u0000");
        shared.push({ attribute, value, count });
      }
      shared.sort((a, b) => b.count - a.count || a.attribute.localeCompare(b.attribute));
    }
    out.push(shared);
  }
  return out;
}

export interface LabelPrecision {
  /** (unit, shared value) instances looked at. */
  instances: number;
  /** Instances whose value is among the unit's words. */
  hits: number;
  /** Units with at least one shared value. */
  units: number;
  byAttribute: Record<string, { instances: number; hits: number }>;
}

/**
 * How often a shared value is among a unit's words (e.g. its top-5 OMP words): every (unit, shared value) counts
 * once; words are compared case-insensitively.
 */
export function labelPrecision(
  shared: SharedValue[][],
  unitWords: (unit: number) => readonly string[],
): LabelPrecision {
  const res: LabelPrecision = { instances: 0, hits: 0, units: 0, byAttribute: {} };
  shared.forEach((values, u) => {
    if (values.length === 0) return;
    res.units++;
    const words = new Set(unitWords(u).map((w) => w.toLowerCase()));
    for (const v of values) {
      const hit = words.has(v.value.toLowerCase());
      res.instances++;
      if (hit) res.hits++;
      const a = (res.byAttribute[v.attribute] ??= { instances: 0, hits: 0 });
      a.instances++;
      if (hit) a.hits++;
    }
  });
  return res;
}

/** The toy world's word-valued attributes (`count` is a number, not a word of the dictionary). */
export const TOY_WORD_ATTRIBUTES = ["shape", "colour", "pattern", "size", "background", "texture"] as const;

/**
 * Per row of a collection made from a toy-world dataset: the dominant object's attributes and the background
 * (index.jsonl labels, as src/data/toy reads them), keyed by attribute. Rows are matched by image id.
 */
export function toyImageLabels(ids: readonly string[], datasetDir: string): Record<string, string>[] {
  const ds = readToyDataset(datasetDir);
  const byId = new Map(ds.items.map((it) => [it.id, (it.meta as { labels: Record<string, string> }).labels]));
  return ids.map((id) => {
    const labels = byId.get(id);
    if (!labels)
      throw new ClipNadError(`image '${id}' of the collection is not in the toy-world dataset`, { file: datasetDir });
    const out: Record<string, string> = {};
    for (const a of TOY_WORD_ATTRIBUTES) if (typeof labels[a] === "string") out[a] = labels[a];
    return out;
  });
}
