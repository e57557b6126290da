/**
 * Test doubles for the collection tests: a deterministic fake ClipModel (small H, C, d; s derived from a hash of
 * the pixels, embedding = Σ r^{n,h} so it is consistent with the decomposition) and tiny PNG folders.
 */
import * as fs from "fs";
import * as path from "path";
import sharp from "sharp";
import { ClipConfig } from "../src/clip/config";
import { preprocessRGB } from "../src/clip/preprocess";
import { ClipModel, ImageForward, ImageInput } from "../src/clip/types";
import { StateDict } from "../src/weights/types";
import { ImageDecomposition, attentionPoolWeights, coefficientsToEmbedding, decompositionOf } from "../src/decompose";
import { mulberry32 } from "../src/toyworld/random";

export const FAKE = { width: 2, heads: 4, embed: 8, grid: 2 } as const; // C = 64, H = 4, d = 8, R = 64


function randn(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

/** Model dimensions of a fake: C = 32·width neurons, H heads, d = embed, grid² tokens, resolution 32·grid. */
export interface FakeDims { width: number; heads: number; embed: number; grid: number }

export function fakeConfig(dims: FakeDims = FAKE): ClipConfig {
  return {
    visionLayers: [1, 1, 1, 1],
    visionWidth: dims.width,
    visionHeads: dims.heads,
    imageResolution: dims.grid * 32,
    grid: dims.grid,
    embedDim: dims.embed,
    contextLength: 77,
    vocabSize: 49408,
    transformerWidth: 64,
    transformerHeads: 1,
    transformerLayers: 1,
  };
}

function fakeWeights(cfg: ClipConfig): StateDict {
  const rand = mulberry32(1234);
  const C = cfg.visionWidth * 32;
  const K = cfg.grid * cfg.grid;
  const t = (shape: number[], scale: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = randn(rand) * scale;
    return { shape, data, storedDtype: "float32" };
  };
  return new Map([
    ["visual.attnpool.v_proj.weight", t([C, C], 1 / Math.sqrt(C))],
    ["visual.attnpool.v_proj.bias", t([C], 0.1)],
    ["visual.attnpool.c_proj.weight", t([cfg.embedDim, C], 1 / Math.sqrt(C))],
    ["visual.attnpool.c_proj.bias", t([cfg.embedDim], 0.1)],
    ["visual.attnpool.positional_embedding", t([K + 1, C], 0.1)],
  ]);
}

/** FNV-1a over the float bytes of one image: the seed of its fake coefficients. */
function hashPixels(px: Float32Array): number {
  const b = new Uint8Array(px.buffer, px.byteOffset, px.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** s for one image's pixels: non-negative, heavy-tailed (like post-ReLU activations), deterministic. */
export function fakeCoefficients(px: Float32Array, H: number, C: number): Float32Array {
  const rand = mulberry32(hashPixels(px));
  const s = new Float32Array(H * C);
  for (let i = 0; i < s.length; i++) {
    const g = randn(rand);
    s[i] = Math.exp(0.8 * g) * (rand() < 0.3 ? 0 : 1);
  }
  return s;
}

/** The attention-pool state dict of a fake model (what a real model keeps in its cache entry). */
export function fakeAttentionPoolStateDict(dims: FakeDims = FAKE): StateDict {
  return fakeWeights(fakeConfig(dims));
}

/**
 * A fake ClipModel: the image tower is `fakeCoefficients` (Z and a are zeros), images are read by `sharpLoader`
 * (files) or src/clip/preprocess (decoded RGB); there is no text tower, so text queries must be embeddings.
 */
export function fakeModel(dims: FakeDims = FAKE): ClipModel {
  const config = fakeConfig(dims);
  const apw = attentionPoolWeights(fakeWeights(config), config);
  const { H, C, d, K } = apw;
  const R = config.imageResolution;
  const hash = "f".repeat(64);
  const pixelsOf = async (image: ImageInput) => (typeof image === "string" ? sharpLoader(image, R) : preprocessRGB(image, R));
  const noText = () => Promise.reject(new Error("the fake model has no text tower"));
  const model: ClipModel = {
    name: "fake",
    path: "/fake/model.safetensors",
    hash,
    config,
    attentionPool: apw,
    metadata: {},
    decomposition: () => decompositionOf(apw, hash),
    async decompose(image) {
      const f = await model.encodeImagePixels(await pixelsOf(image), 1);
      const internals = { embedding: f.embedding, Z: f.features, a: f.attention, s: f.coefficients };
      return new ImageDecomposition(await model.decomposition(), internals);
    },
    async rankPairs(text, opts = {}) {
      if (typeof text === "string") return noText();
      const dec = await model.decomposition();
      return dec.rankPairs(dec.pairSimilarity(text), opts.top ?? 20);
    },
    async encodeImages(paths) {
      const out = new Float32Array(paths.length * d);
      for (let i = 0; i < paths.length; i++) {
        out.set((await model.encodeImagePixels(await sharpLoader(paths[i], R), 1)).embedding, i * d);
      }
      return out;
    },
    encodeTexts: noText,
    async encodeImagePixels(pixels: Float32Array, batch: number): Promise<ImageForward> {
      const per = 3 * R * R;
      const coefficients = new Float32Array(batch * H * C);
      const embedding = new Float32Array(batch * d);
      for (let b = 0; b < batch; b++) {
        const s = fakeCoefficients(pixels.subarray(b * per, (b + 1) * per), H, C);
        coefficients.set(s, b * H * C);
        embedding.set(coefficientsToEmbedding(apw, s), b * d);
      }
      return { batch, embedding, coefficients, features: new Float32Array(batch * C * K), attention: new Float32Array(batch * H * (K + 1)) };
    },
    encodeTokens: noText,
    async dispose() {},
  };
  return model;
}

/** Decode + resize to R×R + scale to [0,1], CHW float32: a stand-in for the CLIP transform. */
export async function sharpLoader(file: string, resolution: number): Promise<Float32Array> {
  const { data } = await sharp(file).removeAlpha().resize(resolution, resolution, { fit: "fill" }).raw().toBuffer({ resolveWithObject: true });
  const out = new Float32Array(3 * resolution * resolution);
  const hw = resolution * resolution;
  for (let i = 0; i < hw; i++) for (let c = 0; c < 3; c++) out[c * hw + i] = data[i * 3 + c] / 255;
  return out;
}

/** A folder of n tiny random PNGs (in a sub-folder too) plus `broken` unreadable .png files. */
export async function writeImageFolder(dir: string, n: number, broken: string[] = [], seed = 7): Promise<string[]> {
  fs.mkdirSync(path.join(dir, "sub"), { recursive: true });
  const rand = mulberry32(seed);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = i % 3 === 0 ? `sub/img${String(i).padStart(3, "0")}.png` : `img${String(i).padStart(3, "0")}.png`;
    const raw = Buffer.alloc(8 * 8 * 3);
    for (let j = 0; j < raw.length; j++) raw[j] = Math.floor(rand() * 256);
    await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path.join(dir, id));
    ids.push(id);
  }
  for (const b of broken) {
    fs.writeFileSync(path.join(dir, b), "this is not a png");
    ids.push(b);
  }
  fs.writeFileSync(path.join(dir, "notes.txt"), "not an image: ignored");
  return ids.sort();
}
