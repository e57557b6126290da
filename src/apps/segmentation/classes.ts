/**
 * The class-embedding step every segmentation method shares (paper.md §A.8–A.9):
 *   1. each class name is embedded with the prompt templates (default: the 80 OpenAI ImageNet templates; each
 *      template embedding normalised, averaged, normalised — src/text/templates.ts);
 *   2. synonyms: a class written "tv monitor, television, screen" (comma-separated names on one line of a class
 *      file) is the normalised mean of its names' template embeddings — more templates for the same class, so
 *      every class is ONE row and the per-class steps (centring over classes, top-k pair selection) stay defined.
 *      (SCLIP instead max-pools the logits of the names of a class; we average the embeddings.)
 *   3. the P rows are centred over the classes, then L2-normalised (the paper code's `text_embed` handling).
 * Rows given as a ready .npy (`--class-embeddings`) skip steps 1–2 and are centred and normalised the same way.
 */
import * as fs from "fs";
import { ClipNadError } from "../../errors";
import { readNpy } from "../../io/npy";
import { TextEncoder, templateEmbeddings } from "../../text/templates";
import { normalizeRows } from "../../util/rows";

/** Class names for segmentation: `names[p]` labels class p; `synonyms[p]` are the texts that embed it. */
export interface SegmentationClasses {
  names: string[];
  synonyms: string[][];
}

function checkClasses(synonyms: string[][], where: { file?: string; what: string }): SegmentationClasses {
  if (synonyms.length === 0) throw new ClipNadError(`${where.what}: the class list is empty`, { file: where.file });
  const seen = new Map<string, number>();
  synonyms.forEach((names, p) => {
    if (names.length === 0 || names.some((n) => !n)) {
      throw new ClipNadError(`${where.what}: class ${p + 1} has an empty name`, {
        file: where.file,
        key: `class ${p + 1}`,
      });
    }
    for (const n of names) {
      const key = n.toLowerCase();
      const prev = seen.get(key);
      if (prev !== undefined) {
        const at = prev === p ? `twice in class ${p + 1}` : `in classes ${prev + 1} and ${p + 1}`;
        throw new ClipNadError(`${where.what}: duplicate class name '${n}' (${at})`, { file: where.file, key: n });
      }
      seen.set(key, p);
    }
  });
  return { names: synonyms.map((s) => s[0]), synonyms };
}

/** "cat,dog,potted plant" → one class per comma-separated name (no synonyms). */
export function parseClassList(text: string): SegmentationClasses {
  const names = text.split(",").map((s) => s.trim());
  if (names.length === 1 && names[0] === "") return checkClasses([], { what: "class list" });
  return checkClasses(
    names.map((n) => [n]),
    { what: "class list" },
  );
}

/**
 * A class file: one class per line, its synonyms comma-separated ("person, person in shirt"); blank lines are
 * skipped. The first name of a line labels the class.
 */
export function readClassFile(file: string): SegmentationClasses {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ClipNadError(`cannot read the class file (${(e as Error).message})`, { file });
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return checkClasses(
    lines.map((l) => l.split(",").map((s) => s.trim())),
    { file, what: "class file" },
  );
}

/** Classes from a list of names (one class each). */
export function classesFromNames(names: readonly string[]): SegmentationClasses {
  return checkClasses(
    names.map((n) => [n.trim()]),
    { what: "class names" },
  );
}

export interface ClassEmbeddingOptions {
  /** Prompt templates (default: the 80 OpenAI ImageNet templates). */
  templates?: string[];
  onProgress?: (done: number, total: number) => void;
}

/** Steps 1–2: one unit row per class (P×d), synonyms averaged. Not yet centred (see `prepareClassEmbeddings`). */
export async function classTextEmbeddings(
  classes: SegmentationClasses,
  encode: TextEncoder,
  opts: ClassEmbeddingOptions = {},
): Promise<Float32Array> {
  const flat = classes.synonyms.flat();
  const rows = await templateEmbeddings(flat, encode, { templates: opts.templates, onProgress: opts.onProgress });
  const d = rows.length / flat.length;
  const P = classes.synonyms.length;
  const out = new Float32Array(P * d);
  let r = 0;
  for (let p = 0; p < P; p++) {
    const m = classes.synonyms[p].length;
    for (let s = 0; s < m; s++, r++) for (let j = 0; j < d; j++) out[p * d + j] += rows[r * d + j] / m;
  }
  return normalizeRows(out, d);
}

/**
 * Step 3: centre P×d rows over the classes, then L2-normalise each (a copy). Needs two classes or more (one
 * centred row is zero); a class whose centred row is zero (a duplicate embedding) is an error too.
 */
export function prepareClassEmbeddings(rows: Float32Array, d: number, where: { file?: string } = {}): Float32Array {
  if (!(d > 0) || rows.length === 0 || rows.length % d !== 0) {
    throw new ClipNadError(`class embeddings: ${rows.length} values are not rows of d = ${d}`, { file: where.file });
  }
  const P = rows.length / d;
  if (P < 2)
    throw new ClipNadError("segmentation needs at least two classes (the embeddings are centred over the classes)", {
      file: where.file,
    });
  const mean = new Float64Array(d);
  for (let p = 0; p < P; p++) {
    for (let j = 0; j < d; j++) {
      const v = rows[p * d + j];
      if (!Number.isFinite(v))
        throw new ClipNadError(`class embedding ${p}, value ${j} is not finite (${v})`, {
          file: where.file,
          key: `row ${p}`,
        });
      mean[j] += v / P;
    }
  }
  const out = new Float32Array(P * d);
  for (let p = 0; p < P; p++) {
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const v = rows[p * d + j] - mean[j];
      out[p * d + j] = v;
      sq += v * v;
    }
    if (!(Math.sqrt(sq) > 1e-6)) {
      throw new ClipNadError(`class embedding ${p} equals the mean of the classes (a duplicate class?)`, {
        file: where.file,
        key: `row ${p}`,
      });
    }
  }
  return normalizeRows(out, d);
}

/** A P×d float32 .npy of raw class embeddings (rows as given; centre them with `prepareClassEmbeddings`). */
export function readClassEmbeddings(file: string, d: number): Float32Array {
  const arr = readNpy(file);
  if (arr.shape.length !== 2 || arr.shape[1] !== d) {
    throw new ClipNadError(
      `class embeddings must be a P×${d} array (the model's embedding size), got shape [${arr.shape.join(", ")}]`,
      { file },
    );
  }
  if (arr.shape[0] === 0) throw new ClipNadError("the class list is empty (0 rows)", { file });
  return Float32Array.from(arr.data as ArrayLike<number>);
}
