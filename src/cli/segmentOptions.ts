import { Command } from "commander";
import { ClipNadError } from "../errors";
import { ClipModel } from "../clip/types";
import {
  InferenceMode,
  SEGMENTATION_METHODS,
  SegmentationMethod,
  parseMethod,
  pairSignsFromCollection,
  usesPairs,
} from "../apps/segmentation";
import { positiveInt } from "./modelOption";

/** The options `segment` and `segment-eval` share: method, k, inference mode, pair signs. */
export function addSegmentationOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--method <method>", `segmentation method: ${SEGMENTATION_METHODS.join(" | ")}`)
    .option("--k <k>", "pairs per class for pairs/neurons/heads (default 20,000 × H·C / 147,456: 20,000 for RN50x16)")
    .option("--whole", "whole-image inference: the image resized to the model resolution, one forward")
    .option(
      "--slide <crop,stride>",
      "slide inference with this crop and stride in pixels (default: the model resolution and half of it)",
    )
    .option(
      "--collection <dir>",
      "pair signs from this model's collection (majority sign of each pair's top images); default +w/|w|",
    );
}

export interface SegmentationFlags {
  method: SegmentationMethod;
  k?: number;
  mode: InferenceMode;
}

export function parseSegmentationFlags(
  o: { method: string; k?: string; whole?: boolean; slide?: string },
  R: number,
): SegmentationFlags {
  const method = parseMethod(o.method);
  if (o.k !== undefined && !usesPairs(method))
    throw new ClipNadError(`--k applies to pairs, neurons and heads, not --method ${method}`);
  const k = o.k === undefined ? undefined : positiveInt("k", o.k);
  if (o.whole && o.slide !== undefined) throw new ClipNadError("give --whole or --slide, not both");
  let mode: InferenceMode = { mode: "slide", crop: R, stride: Math.max(1, Math.floor(R / 2)) };
  if (o.whole) mode = { mode: "whole" };
  else if (o.slide !== undefined) {
    const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(o.slide);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
      throw new ClipNadError(
        `--slide must be CROP,STRIDE in pixels (e.g. ${R},${Math.floor(R / 2)}), got '${o.slide}'`,
      );
    mode = { mode: "slide", crop: Number(m[1]), stride: Number(m[2]) };
  }
  return { method, k, mode };
}

/** --collection → pair signs (only the pair methods use them). */
export async function signsOption(dir: string | undefined, method: SegmentationMethod, model: ClipModel) {
  if (dir === undefined) return undefined;
  if (!usesPairs(method)) throw new ClipNadError(`--collection gives pair signs; --method ${method} uses no pairs`);
  return pairSignsFromCollection(dir, model, await model.decomposition());
}

export function describeMode(mode: InferenceMode): string {
  return mode.mode === "whole" ? "whole" : `slide ${mode.crop},${mode.stride}`;
}
