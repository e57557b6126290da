import * as fs from "fs";
import sharp from "sharp";
import { ClipNadError } from "../errors";
import { RawImage, mulDiv255, pilResizeBicubic, pilResizeBicubicInt, pilResizeNearest } from "./pilResample";

/**
 * CLIP's image preprocessing (OpenAI `clip._transform(n_px)`): Resize(n_px, BICUBIC) of the shortest side,
 * CenterCrop(n_px), convert("RGB"), ToTensor, Normalize — bit-exact with PIL 9.4 (see pilResample.ts).
 * Decoding is sharp (libvips) without EXIF auto-rotation and ignoring ICC profiles, as PIL does.
 */

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** A decoded image in PIL's terms: L/LA/RGB/RGBA samples, plus whether PIL would open it as palette ("P"/"1"). */
export interface DecodedImage extends RawImage {
  /** PIL resizes palette and 1-bit images with NEAREST, whatever filter was asked for. */
  nearestOnly: boolean;
  /** 4 channels are C, M, Y, K (PIL mode "CMYK", e.g. Adobe JPEGs), not RGBA. */
  cmyk?: boolean;
  /** PIL mode "I" (16-bit grey PNG): the full-range samples; `data` then holds nothing useful. */
  int32?: Int32Array;
}

type AnyImage = RawImage & { nearestOnly?: boolean; cmyk?: boolean; int32?: Int32Array };

/** Bit depth and colour type from a PNG's IHDR (what decides PIL's mode), or undefined for other files. */
function pngHeader(path: string): { bitDepth: number; colorType: number } | undefined {
  const head = Buffer.alloc(26);
  const fd = fs.openSync(path, "r");
  try {
    if (fs.readSync(fd, head, 0, 26, 0) < 26) return undefined;
  } finally {
    fs.closeSync(fd);
  }
  if (head.readUInt32BE(0) !== 0x89504e47 || head.toString("latin1", 12, 16) !== "IHDR") return undefined;
  return { bitDepth: head[24], colorType: head[25] };
}

/** Decode JPEG/PNG/WebP (anything sharp reads) to 8-bit samples with their original channel count. */
export async function loadImage(path: string): Promise<DecodedImage> {
  if (!fs.existsSync(path)) throw new ClipNadError("image file not found", { file: path });
  if (fs.statSync(path).isDirectory()) throw new ClipNadError("expected an image file, got a directory", { file: path });
  try {
    const input = sharp(path, { ignoreIcc: true, failOn: "error", autoOrient: false });
    const meta = await input.metadata();
    const png = pngHeader(path);
    if (png && png.colorType === 0 && png.bitDepth === 16) return await loadGrey16(input);
    // CMYK: keep the raw C, M, Y, K samples (PIL resizes them as 4 planes and converts to RGB afterwards).
    const cmyk = meta.space === "cmyk";
    const pipeline = cmyk ? input.pipelineColourspace("cmyk").toColourspace("cmyk") : input;
    const { data, info } = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    if (cmyk && info.channels !== 4) throw new Error(`CMYK image decoded to ${info.channels} channels`);
    let channels = info.channels;
    if (channels < 1 || channels > 4) throw new Error(`unsupported channel count ${channels}`);
    let pixels: Uint8Array = new Uint8Array(data.buffer, data.byteOffset, data.length);
    // Grey/RGB PNGs with a tRNS colour key: PIL keeps mode L/RGB (no alpha), libvips adds an alpha band.
    if (png && (png.colorType === 0 || png.colorType === 2) && (channels === 2 || channels === 4)) {
      pixels = dropLastChannel(pixels, channels);
      channels -= 1;
    }
    // PIL opens palette images as "P" and 1-bit grey as "1"; both are resized with NEAREST.
    const nearestOnly = meta.isPalette === true || (png !== undefined && png.colorType === 0 && png.bitDepth === 1);
    return { width: info.width, height: info.height, channels, data: pixels, nearestOnly, cmyk };
  } catch (e) {
    if (e instanceof ClipNadError) throw e;
    throw new ClipNadError(`cannot decode image (${(e as Error).message.split("\n")[0]})`, { file: path, cause: e });
  }
}

function dropLastChannel(data: Uint8Array, channels: number): Uint8Array {
  const n = data.length / channels;
  const out = new Uint8Array(n * (channels - 1));
  for (let p = 0; p < n; p++) for (let b = 0; b < channels - 1; b++) out[p * (channels - 1) + b] = data[p * channels + b];
  return out;
}

/** 16-bit grey PNG → PIL mode "I" (full 0..65535 range, which convert("RGB") later clips to 0..255). */
async function loadGrey16(input: ReturnType<typeof sharp>): Promise<DecodedImage> {
  const { data, info } = await input.toColourspace("grey16").raw({ depth: "ushort" }).toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  if (data.length !== n * info.channels * 2) throw new Error(`16-bit grey image decoded to ${data.length} bytes`);
  const samples = new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
  const int32 = new Int32Array(n);
  for (let p = 0; p < n; p++) int32[p] = samples[p * info.channels];
  return { width: info.width, height: info.height, channels: 1, data: new Uint8Array(n), nearestOnly: false, int32 };
}

/** PIL's cmyk2rgb (Pillow 9.4): nk = 255 − K; channel = clip(nk − MULDIV255(C, nk)). */
function cmykToRGB(img: RawImage): RawImage {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const nk = 255 - img.data[p * 4 + 3];
    for (let b = 0; b < 3; b++) out[p * 3 + b] = Math.max(0, nk - mulDiv255(img.data[p * 4 + b], nk));
  }
  return { width: img.width, height: img.height, channels: 3, data: out };
}

/** PIL `convert("RGB")`: replicate grey, drop alpha, CMYK → RGB. */
export function toRGB(img: AnyImage): RawImage {
  if (img.cmyk) return cmykToRGB(img);
  if (img.int32) return intToRGB(img.int32, img.width, img.height);
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const ch = img.channels;
  for (let p = 0; p < n; p++) {
    if (ch <= 2) {
      const g = img.data[p * ch];
      out[p * 3] = g;
      out[p * 3 + 1] = g;
      out[p * 3 + 2] = g;
    } else {
      out[p * 3] = img.data[p * ch];
      out[p * 3 + 1] = img.data[p * ch + 1];
      out[p * 3 + 2] = img.data[p * ch + 2];
    }
  }
  return { width: img.width, height: img.height, channels: 3, data: out };
}

/** Decoded image as HWC RGB (the contract's `loadImageRGB`). */
export async function loadImageRGB(path: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const rgb = toRGB(await loadImage(path));
  return { width: rgb.width, height: rgb.height, data: rgb.data };
}

/** Python's round(): half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision Resize(int) output size: shortest side → n, longest → int(n·long/short). */
export function resizedSize(width: number, height: number, n: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((n * long) / short);
  return width <= height ? [n, newLong] : [newLong, n];
}

/** Resize + CenterCrop + convert("RGB") → R×R×3 uint8 (the 8-bit image the network sees before /255). */
export function resizeCropRGB(img: AnyImage, resolution: number): RawImage {
  const [w, h] = resizedSize(img.width, img.height, resolution);
  if (img.int32) return resizeCropInt(img.int32, img.width, img.height, w, h, resolution);
  const resized = img.nearestOnly ? pilResizeNearest(img, w, h) : pilResizeBicubic(img, w, h, !img.cmyk && (img.channels === 2 || img.channels === 4));
  const top = Math.trunc(roundHalfEven((h - resolution) / 2));
  const left = Math.trunc(roundHalfEven((w - resolution) / 2));
  const ch = resized.channels;
  const crop = new Uint8Array(resolution * resolution * ch);
  for (let y = 0; y < resolution; y++) {
    const s = ((y + top) * w + left) * ch;
    crop.set(resized.data.subarray(s, s + resolution * ch), y * resolution * ch);
  }
  return toRGB({ width: resolution, height: resolution, channels: ch, data: crop, cmyk: img.cmyk });
}

function intToRGB(values: Int32Array, width: number, height: number): RawImage {
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const v = values[p];
    out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = v <= 0 ? 0 : v >= 255 ? 255 : v;
  }
  return { width, height, channels: 3, data: out };
}

/** Mode "I": resize in 32-bit, crop, then PIL's i2rgb (clip each value to 0..255, replicate). */
function resizeCropInt(values: Int32Array, width: number, height: number, w: number, h: number, resolution: number): RawImage {
  const resized = pilResizeBicubicInt(values, width, height, w, h);
  const top = Math.trunc(roundHalfEven((h - resolution) / 2));
  const left = Math.trunc(roundHalfEven((w - resolution) / 2));
  const out = new Uint8Array(resolution * resolution * 3);
  for (let y = 0; y < resolution; y++) {
    for (let x = 0; x < resolution; x++) {
      const v = resized[(y + top) * w + x + left];
      const g = v <= 0 ? 0 : v >= 255 ? 255 : v;
      const o = (y * resolution + x) * 3;
      out[o] = g;
      out[o + 1] = g;
      out[o + 2] = g;
    }
  }
  return { width: resolution, height: resolution, channels: 3, data: out };
}

/** ToTensor + Normalize in float32 (each op rounded to float32 like torch): HWC uint8 → CHW, written at `out[offset]`. */
export function normaliseInto(rgb: Uint8Array, resolution: number, out: Float32Array, offset = 0): void {
  const plane = resolution * resolution;
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(CLIP_MEAN[c]);
    const std = Math.fround(CLIP_STD[c]);
    for (let p = 0; p < plane; p++) {
      const x = Math.fround(rgb[p * 3 + c] / 255);
      out[offset + c * plane + p] = Math.fround(x - mean) / std;
    }
  }
}

/** Decoded 8-bit pixels, HWC (3 channels unless `channels` says otherwise). */
export interface RGBImage {
  width: number;
  height: number;
  data: Uint8Array;
  channels?: number;
}

/** Preprocess one decoded image (RGB HWC, or any DecodedImage) → 3×R×R float32. */
export function preprocessRGB(img: RGBImage & { nearestOnly?: boolean; cmyk?: boolean }, resolution: number): Float32Array {
  const raw = { width: img.width, height: img.height, channels: img.channels ?? 3, data: img.data, nearestOnly: img.nearestOnly, cmyk: img.cmyk };
  const out = new Float32Array(3 * resolution * resolution);
  normaliseInto(resizeCropRGB(raw, resolution).data, resolution, out);
  return out;
}

/** CLIP's preprocessing of one decoded image (any mode, as loadImage returns it) → 3×R×R float32 (at `offset`). */
export function preprocessDecoded(img: AnyImage, resolution: number, out?: Float32Array, offset = 0): Float32Array {
  const target = out ?? new Float32Array(3 * resolution * resolution);
  normaliseInto(resizeCropRGB(img, resolution).data, resolution, target, offset);
  return target;
}

/** Decode and preprocess a batch of image files → B×3×R×R float32. */
export async function preprocessImages(paths: string[], resolution: number): Promise<Float32Array> {
  const size = 3 * resolution * resolution;
  const out = new Float32Array(paths.length * size);
  for (let i = 0; i < paths.length; i++) {
    const img = await loadImage(paths[i]);
    preprocessDecoded(img, resolution, out, i * size);
  }
  return out;
}
