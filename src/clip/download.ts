import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { rememberFileSha256 } from "../io/hash";

/** Progress callback shared with loadModel: a message and, when known, the fraction done (0..1). */
export type ProgressFn = (msg: string, frac?: number) => void;

export interface DownloadOptions {
  /** Expected sha256 (hex); the file is deleted and an error thrown on mismatch. */
  sha256: string;
  onProgress?: ProgressFn;
  /** Text appended to network errors (e.g. where to put the file by hand). */
  offlineHint?: string;
}

function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Stream `url` into `target` through a temp file in the same folder, hashing on the way; the temp file is
 * renamed over `target` only when the sha256 matches (so an interrupted download never leaves a bad checkpoint).
 */
export async function downloadFile(url: string, target: string, opts: DownloadOptions): Promise<void> {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.part-${process.pid}-${Date.now()}`;
  const hint = opts.offlineHint ? ` ${opts.offlineHint}` : "";
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new ClipNadError(`cannot download ${url} (${cause}).${hint}`, { file: target, cause: e });
  }
  if (!response.ok || !response.body) {
    throw new ClipNadError(`cannot download ${url} (HTTP ${response.status} ${response.statusText}).${hint}`, { file: target });
  }
  const total = Number(response.headers.get("content-length") ?? 0);
  const hash = crypto.createHash("sha256");
  const out = fs.openSync(tmp, "w");
  let done = 0;
  let lastReport = 0;
  try {
    const reader = response.body.getReader();
    for (;;) {
      const { done: end, value } = await reader.read();
      if (end) break;
      hash.update(value);
      fs.writeSync(out, value);
      done += value.length;
      if (opts.onProgress && (done - lastReport > 1 << 20 || done === total)) {
        lastReport = done;
        opts.onProgress(`downloading ${path.basename(target)} ${formatMB(done)}${total ? ` / ${formatMB(total)}` : ""}`, total ? done / total : undefined);
      }
    }
  } catch (e) {
    fs.closeSync(out);
    fs.rmSync(tmp, { force: true });
    throw new ClipNadError(`download of ${url} was interrupted (${(e as Error).message}).${hint}`, { file: target, cause: e });
  }
  fs.closeSync(out);
  const got = hash.digest("hex");
  if (got !== opts.sha256.toLowerCase()) {
    fs.rmSync(tmp, { force: true });
    throw new ClipNadError(`downloaded file from ${url} has SHA256 ${got}, expected ${opts.sha256}; the file was deleted`, { file: target });
  }
  fs.renameSync(tmp, target);
  rememberFileSha256(target, got); // the next load need not hash 1.3 GB again
  opts.onProgress?.(`downloaded ${path.basename(target)} (${formatMB(done)})`, 1);
}
