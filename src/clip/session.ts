/**
 * onnxruntime-node plumbing for clip-nad: the graph cache on disk (keyed by the checkpoint's sha256),
 * session creation from a file path (half the peak memory of an in-memory model), and error wrapping so
 * every failure names the checkpoint.
 */
import * as fs from "fs";
import * as path from "path";
import * as ort from "onnxruntime-node";
import { ClipNadError } from "../errors";
import { GraphBuilder, readProducerVersion } from "../onnx/graph";
import { Device, checkDevice, deviceSessionError, executionProviders } from "./device";

ort.env.logLevel = "error";

export type GraphKind = "image" | "text";

/** `<cacheDir>/graphs/<sha256>-<kind>.onnx` */
export function graphPath(cacheDir: string, hash: string, kind: GraphKind): string {
  return path.join(cacheDir, "graphs", `${hash}-${kind}.onnx`);
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

/** Session options: `threads` intra-op threads (default 2) on `device`'s execution provider (default cpu). */
export function sessionOptions(threads?: number, device: Device = "cpu"): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: executionProviders(device),
    intraOpNumThreads: threads ?? 2,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    // Idle pools must not spin: several sessions/processes share few cores.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
}

/**
 * Create a session from a graph file on `device`; failures become ClipNadError naming the checkpoint, and a device
 * that is not available here (provider libraries, GPU adapter) a DeviceError saying what is missing.
 */
export async function createSession(
  graphFile: string,
  checkpoint: string,
  threads?: number,
  device: Device = "cpu",
): Promise<ort.InferenceSession> {
  checkDevice(device);
  try {
    return await ort.InferenceSession.create(graphFile, sessionOptions(threads, device));
  } catch (e) {
    throw (
      deviceSessionError(device, e, checkpoint) ??
      new ClipNadError(`onnxruntime could not load the graph ${graphFile}: ${(e as Error).message}`, {
        file: checkpoint,
        cause: e,
      })
    );
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
