/**
 * loadModel: checkpoint (name or path) → ClipModel with onnxruntime sessions for the image and text towers.
 *
 *   resolve → sha256 (memoised) → cached model entry? ─ yes → config + attention-pool weights from the cache
 *                                                     └ no  → read the checkpoint, infer config, validate, build both
 *                                                             graphs and the cache entry, drop the state dict
 *   → image session from its graph file (the text session opens on the first text).
 * Cache entry, `<cache>/graphs/<sha256>-{image.onnx,text.onnx,model.json,attnpool.safetensors}`: after the first
 * load a model never holds its float32 state dict (1.2 GB for RN50x16), only the attention pool it decomposes.
 */
import * as fs from "fs";
import * as path from "path";
import * as v8 from "v8";
import * as vm from "vm";
import * as ort from "onnxruntime-node";
import { ClipNadError } from "../errors";
import { Checkpoint, StateDict, Tensor } from "../weights/types";
import { readCheckpoint, readSafetensors, encodeSafetensors } from "../weights";
import { writeFileAtomic } from "../io/atomic";
import { cacheDir } from "../io/cache";
import { fileSha256 } from "../io/hash";
import { readProducerVersion } from "../onnx/graph";
import { AttentionPoolWeights, attentionPoolWeights, ATTENTION_POOL_KEYS, ATTENTION_QUERY_KEYS } from "../decompose/weights";
import { Decomposition, decompositionOf } from "../decompose/decomposition";
import { ImageDecomposition } from "../decompose/image";
import { RankedPair } from "../decompose/units";
import { normalizeRows } from "../util/rows";
import { ClipConfig, neuronsOf, tokensOf } from "./config";
import { clipConfigOf } from "./checkpoint";
import { buildImageGraph, IMAGE_GRAPH_VERSION, IMAGE_INPUT, IMAGE_OUTPUTS } from "./imageGraph";
import { buildTextGraph, TEXT_GRAPH_VERSION, TEXT_INPUT, TEXT_OUTPUT } from "./textGraph";
import { ClipModel, ImageForward, ImageInput, RankPairsOptions } from "./types";
import { SerialSession, copyFloat, createSession, ensureGraphFile, graphPath } from "./session";
import { Device, DeviceError, checkDevice, parseDevice } from "./device";
import { resolveModel } from "./resolve";
import { EncodeOptions, encodeImages, encodeTexts, templateEmbedding } from "./encode";
import { preprocessRGB } from "./preprocess";
import { clipPixelLoader } from "./imageBatch";

export interface LoadModelOptions {
  /** Graph cache root (default $CLIP_NAD_CACHE or ~/.cache/clip-nad). */
  cacheDir?: string;
  /** Intra-op threads per session (default 2). */
  threads?: number;
  /**
   * Where the image and text towers run (default "cpu"): "webgpu" (onnxruntime's bundled WebGPU provider; needs a
   * GPU with a Vulkan driver) or "cuda" (Linux x64; needs onnxruntime-node's CUDA provider libraries, which are not
   * in the npm package — see src/clip/device.ts cudaInstallHelp). Unavailable → DeviceError saying what is missing.
   * The weight-only decomposition tables stay on the CPU.
   */
  device?: Device;
  onProgress?: (msg: string, frac?: number) => void;
}

/** Version of the cache entry's model.json + attnpool.safetensors. */
const MODEL_ENTRY_VERSION = 2;

interface ModelEntry { version: number; config: ClipConfig; metadata: Record<string, string> }

function entryPaths(dir: string, hash: string) {
  return {
    image: graphPath(dir, hash, "image"),
    text: graphPath(dir, hash, "text"),
    model: path.join(dir, "graphs", `${hash}-model.json`),
    attnpool: path.join(dir, "graphs", `${hash}-attnpool.safetensors`),
  };
}

/** The cached config + attention pool, when the entry is complete and current (else null: build it). */
function readEntry(dir: string, hash: string): { entry: ModelEntry; apw: AttentionPoolWeights } | null {
  const p = entryPaths(dir, hash);
  try {
    if (readProducerVersion(p.image) !== IMAGE_GRAPH_VERSION || readProducerVersion(p.text) !== TEXT_GRAPH_VERSION) return null;
    const entry = JSON.parse(fs.readFileSync(p.model, "utf8")) as ModelEntry;
    if (entry.version !== MODEL_ENTRY_VERSION) return null;
    return { entry, apw: attentionPoolWeights(readSafetensors(p.attnpool).tensors, entry.config, p.attnpool) };
  } catch {
    return null; // missing or damaged: rebuilt from the checkpoint
  }
}

function writeEntry(dir: string, hash: string, config: ClipConfig, metadata: Record<string, string>, sd: StateDict): void {
  const p = entryPaths(dir, hash);
  const keep: [string, Tensor][] = [...ATTENTION_POOL_KEYS, ...ATTENTION_QUERY_KEYS].map((k) => [k, sd.get(k)!]);
  writeFileAtomic(p.attnpool, encodeSafetensors(keep, { dtype: "F32" }));
  writeFileAtomic(p.model, JSON.stringify({ version: MODEL_ENTRY_VERSION, config, metadata } satisfies ModelEntry, null, 1) + "\n");
}

/** Load a CLIP-ResNet checkpoint by model name ("toy", "RN50", …) or file path. */
export async function loadModel(nameOrPath: string, opts: LoadModelOptions = {}): Promise<ClipModel> {
  const progress = opts.onProgress ?? (() => undefined);
  checkDevice(parseDevice(opts.device)); // a missing provider library fails before any download or graph build
  progress("resolving model", 0);
  const file = await resolveModel(nameOrPath, { onProgress: opts.onProgress });
  progress("hashing checkpoint", 0.05);
  const hash = await fileSha256(file, opts.cacheDir);
  let entry = readEntry(cacheDir(opts.cacheDir), hash);
  if (!entry) {
    progress("reading checkpoint", 0.15);
    entry = await readAndBuildEntry(file, hash, opts); // its own frame: a suspended one would keep the checkpoint
    // The checkpoint (1.2 GB of float32 for RN50x16) is unreachable now; free it before the session loads the graph,
    // or both are resident at once.
    collectGarbage();
  }
  return openModel(nameOrPath, file, hash, entry.entry.config, entry.entry.metadata, entry.apw, opts);
}

/** A full garbage collection, when the runtime lets us ask for one (V8 does, through its flags). */
function collectGarbage(): void {
  try {
    v8.setFlagsFromString("--expose-gc");
    (vm.runInNewContext("gc") as () => void)();
  } catch {
    // not available: the memory is freed at the next collection instead
  }
}

/** Build the graphs and cache entry for an already-read checkpoint, then open the model. */
export async function modelFromCheckpoint(name: string, ck: Checkpoint, hash: string, opts: LoadModelOptions = {}): Promise<ClipModel> {
  const { entry, apw } = buildEntry(ck, hash, opts);
  return openModel(name, ck.path, hash, entry.config, entry.metadata, apw, opts);
}

async function readAndBuildEntry(file: string, hash: string, opts: LoadModelOptions): Promise<{ entry: ModelEntry; apw: AttentionPoolWeights }> {
  return buildEntry(await readCheckpoint(file), hash, opts);
}

/** Validate, build both graphs and the cache entry; returns copies of what the model keeps. */
function buildEntry(ck: Checkpoint, hash: string, opts: LoadModelOptions): { entry: ModelEntry; apw: AttentionPoolWeights } {
  const progress = opts.onProgress ?? (() => undefined);
  const file = ck.path;
  const config = clipConfigOf(ck);
  const dir = cacheDir(opts.cacheDir);
  const p = entryPaths(dir, hash);
  progress("building image graph", 0.4);
  ensureGraphFile(p.image, () => buildImageGraph(ck.tensors, config, file), file, IMAGE_GRAPH_VERSION);
  progress("building text graph", 0.6);
  ensureGraphFile(p.text, () => buildTextGraph(ck.tensors, config, file), file, TEXT_GRAPH_VERSION);
  try {
    writeEntry(dir, hash, config, ck.metadata, ck.tensors);
  } catch {
    // a read-only cache: the next load reads the checkpoint again
  }
  // Copies: the model must not keep the checkpoint's state dict alive through views into it.
  const pool = attentionPoolWeights(ck.tensors, config, file);
  const q = pool.query!;
  const apw: AttentionPoolWeights = {
    ...pool, Wv: pool.Wv.slice(), bv: pool.bv.slice(), Wo: pool.Wo.slice(), bo: pool.bo.slice(), pos: pool.pos.slice(),
    query: { Wq: q.Wq.slice(), bq: q.bq.slice(), Wk: q.Wk.slice(), bk: q.bk.slice() },
  };
  return { entry: { version: MODEL_ENTRY_VERSION, config, metadata: { ...ck.metadata } }, apw };
}

async function openModel(name: string, file: string, hash: string, config: ClipConfig, metadata: Record<string, string>,
  apw: AttentionPoolWeights, opts: LoadModelOptions): Promise<ClipModel> {
  const progress = opts.onProgress ?? (() => undefined);
  const p = entryPaths(cacheDir(opts.cacheDir), hash);
  progress("creating image session", 0.75);
  const device = parseDevice(opts.device);
  const session = await openOrRebuild(
    p.image,
    file,
    opts.threads,
    device,
    IMAGE_OUTPUTS,
    IMAGE_GRAPH_VERSION,
    buildImageGraph,
  );
  progress("model ready", 1);
  return new OrtClipModel(
    name,
    file,
    hash,
    config,
    apw,
    metadata,
    new SerialSession(session, file, "image tower"),
    p.text,
    opts.threads,
    device,
  );
}

/**
 * Open a cached graph. If the file is unreadable or lacks the outputs this version expects (a graph written by
 * another clip-nad version), rebuild it once from the checkpoint.
 */
async function openOrRebuild(graphFile: string, checkpoint: string, threads: number | undefined, device: Device,
  outputs: readonly string[], version: string, build: typeof buildImageGraph): Promise<ort.InferenceSession> {
  try {
    const session = await createSession(graphFile, checkpoint, threads, device);
    if (outputs.every((o) => session.outputNames.includes(o))) return session;
    await session.release();
  } catch (e) {
    if (e instanceof DeviceError) throw e; // the graph is fine; the device is missing
    // rebuilt below
  }
  const ck = await readCheckpoint(checkpoint);
  const config = clipConfigOf(ck);
  fs.rmSync(graphFile, { force: true });
  ensureGraphFile(graphFile, () => build(ck.tensors, config, checkpoint), checkpoint, version);
  return createSession(graphFile, checkpoint, threads, device);
}

class OrtClipModel implements ClipModel {
  private text?: Promise<SerialSession>;
  private disposed = false;

  constructor(
    readonly name: string,
    readonly path: string,
    readonly hash: string,
    readonly config: ClipConfig,
    readonly attentionPool: AttentionPoolWeights,
    readonly metadata: Record<string, string>,
    private readonly image: SerialSession,
    private readonly textFile: string,
    private readonly threads?: number,
    private readonly device: Device = "cpu",
  ) {}

  private alive(): void {
    if (this.disposed) throw new ClipNadError("model was disposed", { file: this.path });
  }

  decomposition(): Promise<Decomposition> {
    return decompositionOf(this.attentionPool, this.hash);
  }

  async decompose(image: ImageInput): Promise<ImageDecomposition> {
    this.alive();
    // A file is resized in its own mode (alpha, palette, …) as CLIP's transform does, not converted to RGB first.
    const R = this.config.imageResolution;
    const pixels = typeof image === "string" ? await clipPixelLoader(image, R) : preprocessRGB(image, R);
    const fwd = await this.encodeImagePixels(pixels, 1);
    return new ImageDecomposition(await this.decomposition(), { embedding: fwd.embedding, Z: fwd.features, a: fwd.attention, s: fwd.coefficients });
  }

  async rankPairs(text: string | Float32Array, opts: RankPairsOptions = {}): Promise<RankedPair[]> {
    this.alive();
    let t: Float32Array;
    if (typeof text !== "string") t = text;
    else if (!text.trim()) throw new ClipNadError("rankPairs: the text is empty");
    else if (opts.templates) t = await templateEmbedding(this, text, opts.templates === true ? undefined : opts.templates);
    else t = normalizeRows(await this.encodeTexts([text]), this.config.embedDim);
    const dec = await this.decomposition();
    return dec.rankPairs(dec.pairSimilarity(t), opts.top ?? 20);
  }

  encodeImages(paths: string[], opts?: EncodeOptions): Promise<Float32Array> {
    return encodeImages(this, paths, opts);
  }

  encodeTexts(texts: string[], opts?: EncodeOptions): Promise<Float32Array> {
    return encodeTexts(this, texts, opts);
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
      this.text = (async () => {
        const session = await openOrRebuild(
          this.textFile,
          this.path,
          this.threads,
          this.device,
          [TEXT_OUTPUT],
          TEXT_GRAPH_VERSION,
          buildTextGraph,
        );
        return new SerialSession(session, this.path, "text tower");
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
