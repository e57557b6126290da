/**
 * Dense inference as mmseg runs it (algorithms.md §C; paper.md §A.9 "Inference protocol"), for a model whose image
 * graph takes R×R inputs:
 *   test-time resize  mmseg Resize(scale=(2048, S), keep_ratio=True): factor min(2048/long, S/short), sizes
 *                     int(x·f + 0.5), bilinear (half-pixel centres, as cv2's INTER_LINEAR; float weights)
 *   slide             windows of CROP with STRIDE, h_grids = max(H − crop + stride − 1, 0) // stride + 1, each clamped
 *                     to the image (y2 = min(y1 + crop, H), y1 = max(y2 − crop, 0)); a crop other than R is resized
 *                     to R for the fixed-size graph; each crop's token logits are resized bilinearly to the crop,
 *                     summed into the canvas and divided by the per-pixel window count
 *   whole             the image resized to R×R with CLIP's bicubic resample (for a square image exactly the pixels
 *                     `decompose` sees; a fixed-resolution graph cannot take other shapes, so a non-square image is
 *                     squeezed, not centre-cropped — cropping would leave its sides without logits)
 *   then              the logits resized bilinearly (align_corners=False) to the original image size; the class of a
 *                     pixel is argmax softmax(40 · logits) = argmax logits.
 * Memory: P × (resized image) floats for the canvas plus P × H × W for the result.
 */
import { ClipNadError } from "../../errors";
import { normaliseInto, preprocessDecoded, toRGB, DecodedImage } from "../../clip/preprocess";
import { pilResizeBicubic, pilResizeNearest } from "../../clip/pilResample";
import { ImageForward } from "../../clip/types";
import { Segmenter } from "./method";

/** The paper code's logit scale (cfg_context59.py); it does not change the argmax. */
export const LOGIT_SCALE = 40;

export type InferenceMode = { mode: "whole" } | { mode: "slide"; crop: number; stride: number };

/** Source taps of a 1-D bilinear resize (PyTorch upsample_bilinear2d, align_corners=False). */
function bilinearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; w1: Float64Array } {
  const scale = inSize / outSize;
  const i0 = new Int32Array(outSize),
    i1 = new Int32Array(outSize),
    w1 = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(scale * (o + 0.5) - 0.5, 0);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[o] = lo;
    i1[o] = lo < inSize - 1 ? lo + 1 : lo;
    w1[o] = src - lo;
  }
  return { i0, i1, w1 };
}

/** Bilinear resize of `channels` planar h×w maps to H×W (F.interpolate(mode="bilinear", align_corners=False)). */
export function resizeBilinear(
  src: Float32Array,
  channels: number,
  h: number,
  w: number,
  H: number,
  W: number,
): Float32Array {
  if (src.length !== channels * h * w)
    throw new ClipNadError(`resize: ${src.length} values are not ${channels}×${h}×${w}`);
  if (h === H && w === W) return src.slice();
  const ty = bilinearTaps(h, H),
    tx = bilinearTaps(w, W);
  const out = new Float32Array(channels * H * W);
  const row0 = new Float64Array(W),
    row1 = new Float64Array(W);
  for (let c = 0; c < channels; c++) {
    const s = c * h * w;
    for (let Y = 0; Y < H; Y++) {
      const r0 = s + ty.i0[Y] * w,
        r1 = s + ty.i1[Y] * w;
      for (let X = 0; X < W; X++) {
        const a = tx.i0[X],
          b = tx.i1[X],
          l1 = tx.w1[X],
          l0 = 1 - l1;
        row0[X] = l0 * src[r0 + a] + l1 * src[r0 + b];
        row1[X] = l0 * src[r1 + a] + l1 * src[r1 + b];
      }
      const h1 = ty.w1[Y],
        h0 = 1 - h1;
      const o = (c * H + Y) * W;
      for (let X = 0; X < W; X++) out[o + X] = h0 * row0[X] + h1 * row1[X];
    }
  }
  return out;
}

/** An 8-bit HWC RGB image. */
export interface RGB8 {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Bilinear resize of an 8-bit RGB image (rounded to 8 bit, as cv2.resize on uint8). */
export function resizeRGB8(img: RGB8, W: number, H: number): RGB8 {
  if (img.width === W && img.height === H) return { width: W, height: H, data: img.data.slice() };
  const planar = new Float32Array(3 * img.width * img.height);
  const n = img.width * img.height;
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) planar[c * n + p] = img.data[p * 3 + c];
  const r = resizeBilinear(planar, 3, img.height, img.width, H, W);
  const m = W * H;
  const data = new Uint8Array(m * 3);
  for (let p = 0; p < m; p++)
    for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.min(255, Math.max(0, Math.round(r[c * m + p])));
  return { width: W, height: H, data };
}

/** mmcv rescale_size for Resize(scale=(longMax, shortSide), keep_ratio=True): [width, height]. */
export function testTimeSize(width: number, height: number, shortSide: number, longMax = 2048): [number, number] {
  const f = Math.min(longMax / Math.max(width, height), shortSide / Math.min(width, height));
  return [Math.trunc(width * f + 0.5), Math.trunc(height * f + 0.5)];
}

export interface SlideWindow {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** mmseg's slide windows over an H×W image (each exactly crop×crop when the image is at least that large). */
export function slideWindows(width: number, height: number, crop: number, stride: number): SlideWindow[] {
  if (!(Number.isInteger(crop) && crop > 0 && Number.isInteger(stride) && stride > 0)) {
    throw new ClipNadError(`slide crop and stride must be positive integers, got ${crop}, ${stride}`);
  }
  const hGrids = Math.floor(Math.max(height - crop + stride - 1, 0) / stride) + 1;
  const wGrids = Math.floor(Math.max(width - crop + stride - 1, 0) / stride) + 1;
  const out: SlideWindow[] = [];
  for (let hi = 0; hi < hGrids; hi++) {
    for (let wi = 0; wi < wGrids; wi++) {
      const y2 = Math.min(hi * stride + crop, height),
        x2 = Math.min(wi * stride + crop, width);
      out.push({ y1: Math.max(y2 - crop, 0), x1: Math.max(x2 - crop, 0), y2, x2 });
    }
  }
  return out;
}

/** The image forward a segmentation needs (a ClipModel has it). */
export interface SegmentationForward {
  readonly config: { imageResolution: number };
  encodeImagePixels(pixels: Float32Array, batch: number): Promise<ImageForward>;
}

export interface DenseOptions {
  mode: InferenceMode;
  /**
   * Slide mode: test-time short side (default: the model resolution R, as the paper code's 384 for RN50x16);
   * "keep" = none.
   */
  shortSide?: number | "keep";
  /** Crops per forward (default 4). */
  batch?: number;
  /** Named in errors. */
  file?: string;
}

export interface DenseResult {
  width: number;
  height: number;
  P: number;
  /** P×H×W logits at the image size. */
  logits: Float32Array;
  /** Whole mode: the token logits P×grid×grid of the one forward. */
  tokenLogits?: Float32Array;
  /** Forwards (windows) run. */
  windows: number;
  /** The size the image was resized to before sliding (whole: R×R). */
  inferenceSize: [number, number];
}

/** R×R normalised pixels of a decoded image: `decompose`'s preprocessing for a square image, squeezed otherwise. */
export function wholeImagePixels(img: DecodedImage, R: number): Float32Array {
  if (img.width === img.height) return preprocessDecoded(img, R);
  // Squeezed to R×R (mmseg's whole-image mode); int32 / CMYK converted first (not PIL's order: a rare mode here).
  const base = img.int32 || img.cmyk ? toRGB(img) : img;
  const resized = img.nearestOnly
    ? pilResizeNearest(base, R, R)
    : pilResizeBicubic(base, R, R, !img.cmyk && !img.int32 && (base.channels === 2 || base.channels === 4));
  const out = new Float32Array(3 * R * R);
  normaliseInto(toRGB(resized).data, R, out);
  return out;
}

/** Dense logits of one decoded image (slide: its RGB; whole: the decoded image in its own mode). */
export async function denseLogits(
  model: SegmentationForward,
  segmenter: Segmenter,
  img: DecodedImage,
  opts: DenseOptions,
): Promise<DenseResult> {
  const R = model.config.imageResolution;
  const g = segmenter.grid,
    P = segmenter.P,
    K = g * g;
  const { width, height } = img;
  if (opts.mode.mode === "whole") {
    const fwd = await model.encodeImagePixels(wholeImagePixels(img, R), 1);
    const tokenLogits = await segmenter.tokenLogits(fwd.features, fwd.attention, 1);
    const atR = resizeBilinear(tokenLogits, P, g, g, R, R);
    return {
      width,
      height,
      P,
      logits: resizeBilinear(atR, P, R, R, height, width),
      tokenLogits,
      windows: 1,
      inferenceSize: [R, R],
    };
  }
  const { crop, stride } = opts.mode;
  const rgb = toRGB(img);
  let W1 = width,
    H1 = height;
  const short = opts.shortSide ?? R;
  if (short !== "keep") {
    if (!(Number.isInteger(short) && short > 0))
      throw new ClipNadError(`test-time short side must be a positive integer, got ${short}`);
    [W1, H1] = testTimeSize(width, height, short);
  }
  if (W1 < crop || H1 < crop) {
    throw new ClipNadError(
      `the image ` +
        `(${width}×${height}${W1 !== width || H1 !== height ? `, ${W1}×${H1} after the test-time resize` : ""}) is ` +
          `smaller than the ${crop}-pixel crop`,
      { file: opts.file },
    );
  }
  const resized = resizeRGB8({ width, height, data: rgb.data }, W1, H1);
  const windows = slideWindows(W1, H1, crop, stride);
  const canvas = new Float32Array(P * H1 * W1);
  const count = new Uint16Array(H1 * W1);
  const B = Math.max(1, opts.batch ?? 4);
  const cropRGB = new Uint8Array(crop * crop * 3);
  for (let w0 = 0; w0 < windows.length; w0 += B) {
    const part = windows.slice(w0, w0 + B);
    const pixels = new Float32Array(part.length * 3 * R * R);
    part.forEach((win, b) => {
      for (let y = 0; y < crop; y++)
        cropRGB.set(
          resized.data.subarray(((win.y1 + y) * W1 + win.x1) * 3, ((win.y1 + y) * W1 + win.x1 + crop) * 3),
          y * crop * 3,
        );
      const atR = crop === R ? cropRGB : resizeRGB8({ width: crop, height: crop, data: cropRGB }, R, R).data;
      normaliseInto(atR, R, pixels, b * 3 * R * R);
    });
    const fwd = await model.encodeImagePixels(pixels, part.length);
    const tl = await segmenter.tokenLogits(fwd.features, fwd.attention, part.length);
    part.forEach((win, b) => {
      const up = resizeBilinear(tl.subarray(b * P * K, (b + 1) * P * K), P, g, g, crop, crop);
      for (let p = 0; p < P; p++) {
        for (let y = 0; y < crop; y++) {
          const dst = (p * H1 + win.y1 + y) * W1 + win.x1,
            srcRow = (p * crop + y) * crop;
          for (let x = 0; x < crop; x++) canvas[dst + x] += up[srcRow + x];
        }
      }
      for (let y = 0; y < crop; y++) for (let x = 0; x < crop; x++) count[(win.y1 + y) * W1 + win.x1 + x]++;
    });
  }
  const n = H1 * W1;
  for (let i = 0; i < n; i++) {
    if (count[i] === 0)
      throw new ClipNadError("slide windows left a pixel uncovered (internal error)", { file: opts.file });
    for (let p = 0; p < P; p++) canvas[p * n + i] /= count[i];
  }
  return {
    width,
    height,
    P,
    logits: resizeBilinear(canvas, P, H1, W1, height, width),
    windows: windows.length,
    inferenceSize: [W1, H1],
  };
}

/** Per-pixel class: argmax over P of P×N logits (= argmax of softmax(LOGIT_SCALE · logits)); ties → lower class. */
export function argmaxClasses(logits: Float32Array, P: number): Uint16Array {
  const N = logits.length / P;
  const out = new Uint16Array(N);
  const best = logits.slice(0, N);
  for (let p = 1; p < P; p++) {
    const o = p * N;
    for (let i = 0; i < N; i++) {
      if (logits[o + i] > best[i]) {
        best[i] = logits[o + i];
        out[i] = p;
      }
    }
  }
  return out;
}
