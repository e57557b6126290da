import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";

/**
 * Durable, atomic file writes: a temp file next to the target, fsync, rename. A crash leaves either the old
 * file or the new one, never half of one; a reader never sees a partial file. The temp name is unique per writer
 * (pid + counter), so two processes filling the same cache entry at once (two notebooks, two array tasks on one node)
 * never write into one temp file; it ends in ".tmp", which a collection's resume sweeps. OS errors (ENOSPC, ENOTDIR,
 * EACCES) become ClipNadErrors naming the file.
 */
let tmpCounter = 0;
export function writeFileAtomic(file: string, bytes: Buffer | string): void {
  const tmp = `${file}.${process.pid}-${tmpCounter++}.tmp`;
  try {
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new ClipNadError(`cannot write (${(e as Error).message})`, { file, cause: e, retryable: true });
  }
}

/** JSON (one space indent, trailing newline), written atomically; the folder entry is made durable too. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 1) + "\n");
  fsyncDir(path.dirname(file));
}

/** Make a rename durable (best effort: some file systems refuse fsync on folders). */
export function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not supported here */
  }
}

/** Parse a JSON file; unreadable or corrupt files are errors naming the file. */
export function readJson<T>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ClipNadError(`cannot read (${(e as Error).message})`, { file });
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new ClipNadError(`corrupt JSON (${(e as Error).message})`, { file });
  }
}

/** Create a folder (and its parents); a file in the way or a read-only parent is an error naming the path. */
export function ensureDir(dir: string): string {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new ClipNadError(`cannot create the folder (${(e as Error).message})`, { file: dir, cause: e });
  }
  return dir;
}
