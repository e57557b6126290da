/**
 * One image end to end (what `clip-nad segment` writes): token logits on the token grid for the image preprocessed
 * as `decompose` does, the dense logits at the image size (whole or slide), and the per-pixel classes.
 */
import { ClipModel } from "../../clip/types";
import { DecodedImage, loadImage, preprocessDecoded } from "../../clip/preprocess";
import { DenseOptions, DenseResult, argmaxClasses, denseLogits } from "./inference";
import { Segmenter } from "./method";

export interface ImageSegmentation {
  /** P×grid×grid: class logits on the token grid of the image preprocessed as `decompose` does (resize + crop). */
  tokenLogits: Float32Array;
  dense: DenseResult;
  /** Class per pixel (H×W). */
  pred: Uint16Array;
}


export async function segmentDecoded(
  model: ClipModel,
  segmenter: Segmenter,
  img: DecodedImage,
  opts: DenseOptions,
): Promise<ImageSegmentation> {
  const dense = await denseLogits(model, segmenter, img, opts);
  let tokenLogits = dense.tokenLogits;
  // Whole mode on a square image already ran on exactly decompose's pixels; otherwise one more forward.
  if (!(opts.mode.mode === "whole" && img.width === img.height)) {
    const fwd = await model.encodeImagePixels(preprocessDecoded(img, model.config.imageResolution), 1);
    tokenLogits = await segmenter.tokenLogits(fwd.features, fwd.attention, 1);
  }
  return { tokenLogits: tokenLogits!, dense, pred: argmaxClasses(dense.logits, dense.P) };
}

/** Decode an image file (in its own mode, as `decompose` does) and segment it. */
export async function segmentImageFile(
  model: ClipModel,
  segmenter: Segmenter,
  file: string,
  opts: Omit<DenseOptions, "file">,
): Promise<ImageSegmentation & { image: DecodedImage }> {
  const image = await loadImage(file);
  return { ...(await segmentDecoded(model, segmenter, image, { ...opts, file })), image };
}
