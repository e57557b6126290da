import { preprocessImages } from "./preprocess";

/**
 * Decoding batches of image files for the commands that stream images (collect, embed), with one policy: an image
 * that cannot be read or decoded is skipped and reported with its reason, never fatal, and images are decoded one
 * after the other, so memory holds one full-size decode at a time (a 16000² PNG is 768 MB; eight at once are 6 GB).
 */

/** Turns an image file into preprocessed pixels (3×R×R float32); throws for unreadable files. */
export type PixelLoader = (file: string, resolution: number) => Promise<Float32Array>;

/**
 * The decode + CLIP preprocessing of src/clip/preprocess (bicubic shortest side, centre crop, mean/std; PIL-exact).
 * Resized in the file's own mode, as CLIP's transform does (alpha, palette, CMYK, 16-bit): not converted to RGB first.
 */
export const clipPixelLoader: PixelLoader = (file, resolution) => preprocessImages([file], resolution);

/** An image that was not used, and why. `index` is its position in the list the batch was taken from. */
export interface SkippedImage { index: number; id: string; reason: string }

export interface PixelBatch {
  /** ok.length × 3×R×R, in the order of `ok`. */
  pixels: Float32Array;
  /** Indices (into the list) of the images that decoded. */
  ok: number[];
  skipped: SkippedImage[];
}

/** Decode and preprocess `indices` of `items` (each {id, path}), skipping unreadable ones. */
export async function loadPixelBatch(items: readonly { id: string; path: string }[], indices: readonly number[], resolution: number,
  load: PixelLoader = clipPixelLoader): Promise<PixelBatch> {
  const per = 3 * resolution * resolution;
  const ok: number[] = [];
  const skipped: SkippedImage[] = [];
  const pixels = new Float32Array(indices.length * per);
  for (const i of indices) {
    try {
      const px = await load(items[i].path, resolution);
      if (px.length !== per) throw new Error(`preprocessing gave ${px.length} values, expected 3×${resolution}×${resolution}`);
      pixels.set(px, ok.length * per);
      ok.push(i);
    } catch (e) {
      skipped.push({ index: i, id: items[i].id, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return { pixels: ok.length === indices.length ? pixels : pixels.slice(0, ok.length * per), ok, skipped };
}
