import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { cacheDir } from "./cache";

/** sha256 (hex) of a file, streamed in 4 MiB blocks (checkpoints are up to 1.3 GB). */
export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  try {
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  } catch (e) {
    throw new ClipNadError(`cannot read the file (${(e as Error).message})`, { file, cause: e });
  }
  return hash.digest("hex");
}

/**
 * sha256 of a file, memoised in `<cache>/hashes/` by (absolute path, size, mtime, inode), so a multi-GB checkpoint
 * is hashed once; any change to the file changes the stamp and re-hashes. A read-only cache just hashes again.
 */
export async function fileSha256(file: string, cache?: string): Promise<string> {
  let stamp: string;
  try {
    const st = fs.statSync(file);
    stamp = `${path.resolve(file)}\n${st.size}\n${st.mtimeMs}\n${st.ino}`;
  } catch (e) {
    throw new ClipNadError(`cannot read the file (${(e as Error).message})`, { file, cause: e });
  }
  const memo = path.join(cacheDir(cache), "hashes", crypto.createHash("sha256").update(stamp).digest("hex"));
  try {
    const known = fs.readFileSync(memo, "utf8").trim();
    if (/^[0-9a-f]{64}$/.test(known)) return known;
  } catch {
    // not memoised yet
  }
  const hash = await sha256File(file);
  rememberSha256(memo, hash);
  return hash;
}

/** Record a hash computed elsewhere (a download hashes while it streams) so fileSha256 need not read the file. */
export function rememberFileSha256(file: string, hash: string, cache?: string): void {
  const st = fs.statSync(file);
  const stamp = `${path.resolve(file)}\n${st.size}\n${st.mtimeMs}\n${st.ino}`;
  rememberSha256(path.join(cacheDir(cache), "hashes", crypto.createHash("sha256").update(stamp).digest("hex")), hash);
}

function rememberSha256(memo: string, hash: string): void {
  try {
    fs.mkdirSync(path.dirname(memo), { recursive: true });
    const tmp = `${memo}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, `${hash}\n`);
    fs.renameSync(tmp, memo);
  } catch {
    // read-only cache: hash again next time
  }
}
