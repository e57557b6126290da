import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { cacheDir } from "../io/cache";
import { fsyncDir, writeFileAtomic } from "../io/atomic";
import { normalizeRows } from "../util/rows";
import { TextEncoder, templateEmbeddings } from "./templates";

/** The 30,000 common English words of the paper's dictionary (assets/text/words_30k.txt). */
export const WORDS_30K = path.join(__dirname, "..", "..", "assets", "text", "words_30k.txt");

/**
 * Read a word list: one entry per line, surrounding white space (the paper's file ends lines with a TAB) trimmed.
 * An empty list, an empty line in the middle of the list, or a duplicate entry is an error naming the line: row i of
 * every embedding matrix must be line i.
 */
export function readWordList(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ClipNadError(`cannot read the word list (${(e as Error).message})`, { file });
  }
  const lines = text.split(/\r?\n/).map((w) => w.trim());
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return checkWords(lines, file);
}

/** Validate an in-memory word list the same way (no empty entries, no duplicates, not empty). */
export function checkWords(words: readonly string[], file?: string): string[] {
  if (words.length === 0) throw new ClipNadError("the word list is empty", { file });
  const seen = new Map<string, number>();
  words.forEach((w, i) => {
    if (typeof w !== "string" || w.trim() === "") throw new ClipNadError(`entry ${i + 1} is empty`, { file, key: `line ${i + 1}` });
    const before = seen.get(w);
    if (before !== undefined) throw new ClipNadError(`'${w}' appears twice (entries ${before + 1} and ${i + 1})`, { file, key: `line ${i + 1}` });
    seen.set(w, i);
  });
  return words.slice();
}

export interface VocabularyOptions {
  /** sha256 of the model (the cache key; embeddings of another model are never reused). */
  modelHash: string;
  /** Prompt templates: undefined = each word as it is; a list = normalise, average, normalise (text/templates). */
  templates?: string[];
  /** Cache root (default: clip-nad's cache). The matrix goes to <cache>/text/. */
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Unit-row text embeddings of a word list (words × d, row i = word i), computed once per (model, words, templates)
 * and cached as raw float32 at <cache>/text/<model>-<words+templates hash>-<d>.f32. Progress per word batch.
 * Long lists resume: finished rows are appended to <…>-<d>.f32.partial as they come (a killed run — the 30k
 * words × 80 templates of a large model take hours on a CPU — continues where it stopped; a torn last row is
 * dropped), and the partial file becomes the cache entry when the list is done. Memory: words × d floats.
 */
export async function vocabularyEmbeddings(words: readonly string[], encode: TextEncoder, opts: VocabularyOptions): Promise<Float32Array> {
  checkWords(words);
  const key = crypto.createHash("sha256").update(JSON.stringify({ words, templates: opts.templates ?? null })).digest("hex").slice(0, 16);
  const dir = path.join(cacheDir(opts.cacheDir), "text");
  const prefix = `${opts.modelHash.slice(0, 16)}-${key}-`;
  const listed = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const cached = listed.find((f) => f.startsWith(prefix) && f.endsWith(".f32"));
  if (cached) {
    const d = Number(cached.slice(prefix.length, -4));
    const buf = fs.readFileSync(path.join(dir, cached));
    if (Number.isInteger(d) && buf.length === words.length * d * 4) return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  }
  let out: Float32Array | undefined;
  let d = 0;
  let start = 0;
  let partial: string | undefined;
  const previous = listed.find((f) => f.startsWith(prefix) && f.endsWith(".f32.partial"));
  if (previous) {
    d = Number(previous.slice(prefix.length, -".f32.partial".length));
    partial = path.join(dir, previous);
    const buf = fs.readFileSync(partial);
    if (Number.isInteger(d) && d > 0) {
      start = Math.min(words.length, Math.floor(buf.length / (d * 4)));
      out = new Float32Array(words.length * d);
      out.set(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + start * d * 4)));
      fs.truncateSync(partial, start * d * 4); // drop a torn last row
      opts.onProgress?.(start, words.length);
    } else {
      start = 0;
      d = 0;
      fs.rmSync(partial, { force: true });
      partial = undefined;
    }
  }
  const batch = opts.templates ? 8 : 256;
  for (let i = start; i < words.length; i += batch) {
    const chunk = words.slice(i, i + batch);
    const emb = opts.templates ? await templateEmbeddings(chunk, encode, { templates: opts.templates }) : await encode(chunk);
    if (!d) d = emb.length / chunk.length;
    if (!Number.isInteger(d) || d < 1) {
      throw new ClipNadError(`text encoder returned ${emb.length} values for ${chunk.length} texts`);
    }
    if (emb.length !== chunk.length * d) throw new ClipNadError(`text encoder returned ${emb.length} values for ${chunk.length} texts of ${d} dims`);
    out ??= new Float32Array(words.length * d);
    const rows = opts.templates ? emb : normalizeRows(emb, d);
    out.set(rows, i * d);
    if (!partial) {
      fs.mkdirSync(dir, { recursive: true });
      partial = path.join(dir, `${prefix}${d}.f32.partial`);
      fs.writeFileSync(partial, Buffer.alloc(0));
    }
    fs.appendFileSync(partial, Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength));
    opts.onProgress?.(Math.min(i + batch, words.length), words.length);
  }
  const final = path.join(dir, `${prefix}${d}.f32`);
  if (partial) {
    // The partial file holds every row now: it becomes the cache entry (no second write of words × d floats).
    const fd = fs.openSync(partial, "r+");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(partial, final);
    fsyncDir(dir);
  } else writeFileAtomic(final, Buffer.from(out!.buffer, out!.byteOffset, out!.byteLength));
  return out!;
}
