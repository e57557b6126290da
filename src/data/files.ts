/** Small filesystem helpers shared by the readers: existence checks that throw a ClipNadError naming what is missing. */
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";

/** The image file extensions clip-nad lists (what sharp decodes). */
export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".avif"];

export function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** An image's id: its path relative to the dataset root, "/"-separated. */
export function relativeId(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join("/");
}

export function requireDir(dir: string, what: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new ClipNadError(`missing ${what} folder`, { file: dir });
  }
  if (!st.isDirectory()) throw new ClipNadError(`expected ${what} to be a folder, found a file`, { file: dir });
  return dir;
}

export function requireFile(file: string, what: string): string {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new ClipNadError(`missing ${what}`, { file });
  return file;
}

export function readText(file: string, what: string): string {
  requireFile(file, what);
  return fs.readFileSync(file, "utf8");
}

/** The first of several candidate paths that exists, or undefined. */
export function firstExisting(candidates: string[]): string | undefined {
  return candidates.find((c) => fs.existsSync(c));
}

/** Natural sort key order: plain code-point order of names (what `sorted()` gives in Python). */
export function sortNames(names: string[]): string[] {
  return names.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function stem(file: string): string {
  return path.basename(file, path.extname(file));
}

/** Minimal CSV parser (RFC 4180 quotes) → rows of strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      if (row.length > 1 || row[0] !== "") rows.push(row);
      row = [];
      cell = "";
    } else cell += ch;
  }
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** CSV with a header row → records keyed by column name; throws naming the file and the missing column. */
export function readCsvRecords(file: string, what: string, required: string[]): Record<string, string>[] {
  const rows = parseCsv(readText(file, what));
  if (rows.length === 0) throw new ClipNadError(`empty ${what}`, { file });
  const header = rows[0].map((h) => h.trim());
  for (const col of required) if (!header.includes(col)) throw new ClipNadError(`${what} has no '${col}' column (columns: ${header.join(", ")})`, { file, key: col });
  return rows.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, (r[i] ?? "").trim()])));
}
