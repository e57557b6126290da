/**
 * onnxruntime-node plumbing for clip-nad: the graph cache on disk (keyed by the checkpoint's sha256),
 * session creation from a file path (half the peak memory of an in-memory model), and error wrapping so
 * every failure names the checkpoint.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ort from "onnxruntime-node";
import { ClipNadError } from "../errors";
import { GraphBuilder, readProducerVersion } from "../onnx/graph";

ort.env.logLevel = "error";

/** `opts.cacheDir`, else $CLIP_NAD_CACHE, else ~/.cache/clip-nad. */
export function resolveCacheDir(cacheDir?: string): string {
  return cacheDir ?? process.env.CLIP_NAD_CACHE ?? path.join(os.homedir(), ".cache", "clip-nad");
}

export type GraphKind = "image" | "text";

/** `<cacheDir>/graphs/<sha256>-<kind>.onnx` */
export function graphPath(cacheDir: string, hash: string, kind: GraphKind): string {
  return path.join(cacheDir, "graphs", `${hash}-${kind}.onnx`);
}

/** sha256 (hex) of a file, streamed in 4 MiB blocks. */
export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  try {
    const stream = fs.createReadStream(file, { highWaterMark: 4 << 20 });
    for await (const chunk of stream) hash.update(chunk as Buffer);
  } catch (e) {
    throw new ClipNadError(`cannot read checkpoint (${(e as Error).message})`, { file, cause: e });
  }
  return hash.digest("hex");
}

/**
 * sha256 of a checkpoint, memoised in `<cacheDir>/hashes/` by (absolute path, size, mtime, inode), so loading
 * a multi-GB checkpoint again does not re-hash it. Any change to the file changes the stamp → re-hash.
 */
export async function checkpointHash(file: string, cacheDir: string): Promise<string> {
  let stamp: string;
  try {
    const st = fs.statSync(file);
    stamp = `${path.resolve(file)}\n${st.size}\n${st.mtimeMs}\n${st.ino}`;
  } catch (e) {
    throw new ClipNadError(`cannot read checkpoint (${(e as Error).message})`, { file, cause: e });
  }
  const memo = path.join(cacheDir, "hashes", crypto.createHash("sha256").update(stamp).digest("hex"));
  try {
    const hash = fs.readFileSync(memo, "utf8").trim();
    if (/^[0-9a-f]{64}$/.test(hash)) return hash;
  } catch {
    // not memoised yet
  }
  const hash = await sha256File(file);
  try {
    fs.mkdirSync(path.dirname(memo), { recursive: true });
    const tmp = `${memo}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, `${hash}\n`);
    fs.renameSync(tmp, memo);
  } catch {
    // read-only cache: hash again next time
  }
  return hash;
}

/**
 * Make sure the graph file exists with graph-format `version` (its producer_version): build it with `build()`
 * when absent or of another version (written to a temp file and renamed, so a crash never leaves a
 * half-written graph, and readers of the old file are unaffected). Returns true when it was built now.
 */
export function ensureGraphFile(file: string, build: () => GraphBuilder, checkpoint: string, version?: string): boolean {
  if (fs.existsSync(file) && (version === undefined || readProducerVersion(file) === version)) return false;
  try {
    let g: GraphBuilder | undefined = build();
    g.writeFile(file);
    g = undefined; // drop the builder (its chunks reference the weights) before the session copies them
  } catch (e) {
    if (e instanceof ClipNadError) throw e;
    throw new ClipNadError(`cannot write ONNX graph ${file} (${(e as Error).message})`, { file: checkpoint, cause: e });
  }
  return true;
}

export function sessionOptions(threads?: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads ?? 2,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    // Idle pools must not spin: several sessions/processes share few cores.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
}

/** Create a session from a graph file; failures become ClipNadError naming the checkpoint. */
export async function createSession(graphFile: string, checkpoint: string, threads?: number): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(graphFile, sessionOptions(threads));
  } catch (e) {
    throw new ClipNadError(`onnxruntime could not load the graph ${graphFile}: ${(e as Error).message}`, { file: checkpoint, cause: e });
  }
}

/**
 * Run a session; one run at a time per session (calls are chained), errors name the checkpoint.
 */
export class SerialSession {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly session: ort.InferenceSession, readonly checkpoint: string, readonly what: string) {}

  run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    const next = this.queue.then(async () => {
      try {
        return await this.session.run(feeds);
      } catch (e) {
        throw new ClipNadError(`onnxruntime failed to run the ${this.what}: ${(e as Error).message}`, { file: this.checkpoint, cause: e });
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async release(): Promise<void> {
    await this.queue;
    await this.session.release();
  }
}

/** Copy a float32 output into a plain Float32Array owned by JS. */
export function copyFloat(t: ort.Tensor | undefined, name: string, checkpoint: string): Float32Array {
  if (!t || t.type !== "float32") throw new ClipNadError(`graph output '${name}' is missing or not float32`, { file: checkpoint });
  return new Float32Array(t.data as Float32Array);
}
