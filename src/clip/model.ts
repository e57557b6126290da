/**
 * loadModel: checkpoint (name or path) → ClipModel with onnxruntime sessions for the image and text towers.
 *
 *   resolve → sha256 (streamed) → read tensors → infer config → validate → graphs in the cache
 *   (`<cacheDir>/graphs/<sha256>-{image,text}.onnx`, built only when absent) → image session from the path.
 * The text session is created on the first encodeTokens call.
 */
import * as fs from "fs";
import * as ort from "onnxruntime-node";
import { ClipNadError } from "../errors";
import { Checkpoint, StateDict } from "../weights/types";
import { ClipConfig, inferConfig, neuronsOf, tokensOf } from "./config";
import { buildImageGraph, IMAGE_GRAPH_VERSION, IMAGE_INPUT, IMAGE_OUTPUTS } from "./imageGraph";
import { buildTextGraph, TEXT_GRAPH_VERSION, TEXT_INPUT, TEXT_OUTPUT } from "./textGraph";
import { ClipModel, ImageForward } from "./types";
import { SerialSession, copyFloat, createSession, ensureGraphFile, graphPath, resolveCacheDir, checkpointHash } from "./session";
import { readCheckpoint, validateClipWeights } from "../weights";
import { resolveModel } from "./resolve";

export interface LoadModelOptions {
  /** Graph cache root (default $CLIP_NAD_CACHE or ~/.cache/clip-nad). */
  cacheDir?: string;
  /** Intra-op threads per session (default 2). */
  threads?: number;
  onProgress?: (msg: string, frac?: number) => void;
}

/** Load a CLIP-ResNet checkpoint by model name ("toy", "RN50", …) or file path. */
export async function loadModel(nameOrPath: string, opts: LoadModelOptions = {}): Promise<ClipModel> {
  const progress = opts.onProgress ?? (() => undefined);
  progress("resolving model", 0);
  const file = await resolveModel(nameOrPath, { onProgress: opts.onProgress });
  progress("hashing checkpoint", 0.05);
  const hash = await checkpointHash(file, resolveCacheDir(opts.cacheDir));
  progress("reading checkpoint", 0.15);
  const ck = await readCheckpoint(file);
  return modelFromCheckpoint(nameOrPath, ck, hash, opts);
}

/** Build (or reuse) the graphs for an already-read checkpoint and open the image session. */
export async function modelFromCheckpoint(name: string, ck: Checkpoint, hash: string, opts: LoadModelOptions = {}): Promise<ClipModel> {
  const progress = opts.onProgress ?? (() => undefined);
  const file = ck.path;
  const config = inferConfig(ck.tensors, file, ck.metadata);
  validateClipWeights(ck.tensors, config, file);
  const cacheDir = resolveCacheDir(opts.cacheDir);
  const imageFile = graphPath(cacheDir, hash, "image");
  const textFile = graphPath(cacheDir, hash, "text");
  // Both graphs are written now (cheap: the bytes are the weights), so the text tower can open lazily later.
  progress("building image graph", 0.4);
  ensureGraphFile(imageFile, () => buildImageGraph(ck.tensors, config, file), file, IMAGE_GRAPH_VERSION);
  progress("building text graph", 0.6);
  ensureGraphFile(textFile, () => buildTextGraph(ck.tensors, config, file), file, TEXT_GRAPH_VERSION);
  progress("creating image session", 0.75);
  const image = new SerialSession(await openOrRebuild(imageFile, file, opts.threads, IMAGE_OUTPUTS, () => buildImageGraph(ck.tensors, config, file)), file, "image tower");
  progress("model ready", 1);
  return new OrtClipModel(name, file, hash, config, ck.tensors, ck.metadata, image, textFile, opts.threads);
}

/**
 * Open a cached graph. If the cached file is unreadable or lacks the outputs this version expects (a graph
 * written by another clip-nad version), delete it and rebuild once.
 */
async function openOrRebuild(graphFile: string, checkpoint: string, threads: number | undefined, outputs: readonly string[],
  build: () => ReturnType<typeof buildImageGraph>): Promise<ort.InferenceSession> {
  let failure: unknown;
  try {
    const session = await createSession(graphFile, checkpoint, threads);
    if (outputs.every((o) => session.outputNames.includes(o))) return session;
    await session.release();
  } catch (e) {
    failure = e;
  }
  try {
    fs.unlinkSync(graphFile);
  } catch {
    throw failure ?? new ClipNadError(`cannot replace stale graph ${graphFile}`, { file: checkpoint });
  }
  ensureGraphFile(graphFile, build, checkpoint);
  return createSession(graphFile, checkpoint, threads);
}

class OrtClipModel implements ClipModel {
  private text?: Promise<SerialSession>;
  private disposed = false;

  constructor(
    readonly name: string,
    readonly path: string,
    readonly hash: string,
    readonly config: ClipConfig,
    readonly weights: StateDict,
    readonly metadata: Record<string, string>,
    private readonly image: SerialSession,
    private readonly textFile: string,
    private readonly threads?: number,
  ) {}

  private alive(): void {
    if (this.disposed) throw new ClipNadError("model was disposed", { file: this.path });
  }

  async encodeImagePixels(pixels: Float32Array, batch: number): Promise<ImageForward> {
    this.alive();
    const R = this.config.imageResolution;
    const per = 3 * R * R;
    if (!(pixels instanceof Float32Array)) throw new ClipNadError("pixels must be a Float32Array (B×3×R×R)", { file: this.path });
    if (!Number.isInteger(batch) || batch < 1 || pixels.length !== batch * per) {
      throw new ClipNadError(
        `bad image batch: got ${pixels.length} values for batch=${batch}; expected batch×3×${R}×${R} = ${batch}×${per} (${Number.isInteger(batch) && batch > 0 ? batch * per : "?"})`,
        { file: this.path });
    }
    const out = await this.image.run({ [IMAGE_INPUT]: new ort.Tensor("float32", pixels, [batch, 3, R, R]) });
    const res: ImageForward = {
      batch,
      embedding: copyFloat(out.embedding, "embedding", this.path),
      features: copyFloat(out.features, "features", this.path),
      attention: copyFloat(out.attention, "attention", this.path),
      coefficients: copyFloat(out.coefficients, "coefficients", this.path),
    };
    const C = neuronsOf(this.config), H = this.config.visionHeads, K = tokensOf(this.config);
    if (res.features.length !== batch * C * K || res.attention.length !== batch * H * (K + 1) || res.coefficients.length !== batch * H * C
      || res.embedding.length !== batch * this.config.embedDim) {
      throw new ClipNadError("image graph outputs have unexpected sizes (stale graph cache?)", { file: this.path });
    }
    return res;
  }

  async encodeTokens(ids: Int32Array | ArrayLike<number>[], batch?: number): Promise<Float32Array> {
    this.alive();
    const T = this.config.contextLength;
    const V = this.config.vocabSize;
    let flat: ArrayLike<number>;
    let B: number;
    if (Array.isArray(ids)) {
      B = ids.length;
      const buf = new Int32Array(B * T);
      ids.forEach((row, i) => {
        if (row.length > T) throw new ClipNadError(`token row ${i} has ${row.length} ids; the context length is ${T}`, { file: this.path });
        buf.set(Array.from(row), i * T);
      });
      flat = buf;
      if (batch !== undefined && batch !== B) throw new ClipNadError(`batch=${batch} but ${B} token rows were given`, { file: this.path });
    } else {
      B = batch ?? ids.length / T;
      if (!Number.isInteger(B) || B < 1 || ids.length !== B * T) {
        throw new ClipNadError(`bad token batch: ${ids.length} ids is not batch×${T} (batch=${batch ?? "?"})`, { file: this.path });
      }
      flat = ids as Int32Array;
    }
    // Causal attention: nothing after a row's EOT (its first maximal id, as ArgMax picks) affects its
    // embedding, so the batch is cut to the longest row's EOT position + 1 (see textGraph.ts).
    let len = 1;
    for (let b = 0; b < B; b++) {
      let arg = 0;
      for (let i = 0; i < T; i++) {
        const v = flat[b * T + i];
        if (!Number.isInteger(v) || v < 0 || v >= V) {
          throw new ClipNadError(`token id ${v} at row ${b}, position ${i} is outside the vocabulary [0, ${V})`, { file: this.path });
        }
        if (v > flat[b * T + arg]) arg = i;
      }
      len = Math.max(len, arg + 1);
    }
    const big = new BigInt64Array(B * len);
    for (let b = 0; b < B; b++) for (let i = 0; i < len; i++) big[b * len + i] = BigInt(flat[b * T + i]);
    const text = await this.textSession();
    const out = await text.run({ [TEXT_INPUT]: new ort.Tensor("int64", big, [B, len]) });
    return copyFloat(out[TEXT_OUTPUT], TEXT_OUTPUT, this.path);
  }

  private textSession(): Promise<SerialSession> {
    if (!this.text) {
      const build = () => buildTextGraph(this.weights, this.config, this.path);
      this.text = (async () => {
        ensureGraphFile(this.textFile, build, this.path, TEXT_GRAPH_VERSION); // in case the cache changed meanwhile
        return new SerialSession(await openOrRebuild(this.textFile, this.path, this.threads, [TEXT_OUTPUT], build), this.path, "text tower");
      })();
      this.text.catch(() => { this.text = undefined; });
    }
    return this.text;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.image.release();
    if (this.text) {
      const text = await this.text.catch(() => undefined); // a failed text session has nothing to release
      await text?.release();
    }
  }
}
