import { ClipNadError } from "../errors";
import { StateDict } from "../weights/types";

/**
 * CLIP-ResNet hyper-parameters, inferred from a state dict exactly as OpenAI's `build_model` does.
 * Vision heads cannot be recovered from weight shapes: they are C/64 unless the file's metadata says otherwise.
 */
export interface ClipConfig {
  /** Bottleneck blocks per stage, e.g. [3,4,6,3] for RN50. */
  visionLayers: [number, number, number, number];
  /** Stem width w; layer4 has C = 32·w channels ("neurons"). */
  visionWidth: number;
  /** Attention-pool heads H. */
  visionHeads: number;
  /** Input resolution = 32 · grid. */
  imageResolution: number;
  /** Attention-pool grid side (h = w = grid); K = grid² spatial tokens. */
  grid: number;
  /** Output embedding dimension d. */
  embedDim: number;
  contextLength: number;
  vocabSize: number;
  transformerWidth: number;
  transformerHeads: number;
  transformerLayers: number;
}

/** Number of neurons C (layer4 channels = attention-pool input width). */
export const neuronsOf = (c: ClipConfig): number => c.visionWidth * 32;
/** Number of spatial tokens K = grid². */
export const tokensOf = (c: ClipConfig): number => c.grid * c.grid;

function need(sd: StateDict, key: string, file: string) {
  const t = sd.get(key);
  if (!t) throw new ClipNadError(`missing tensor (not a CLIP-ResNet checkpoint?)`, { file, key });
  return t;
}

function countBlocks(sd: StateDict, prefix: string): number {
  const ids = new Set<string>();
  for (const k of sd.keys()) if (k.startsWith(prefix)) ids.add(k.slice(prefix.length).split(".")[0]);
  return ids.size;
}

/** Infer the config from OpenAI-named tensors. `metadata` may carry `vision_heads` (or a JSON `config`). */
export function inferConfig(sd: StateDict, file: string, metadata: Record<string, string> = {}): ClipConfig {
  if (sd.has("visual.proj") || sd.has("visual.class_embedding")) {
    throw new ClipNadError("this is a CLIP ViT checkpoint; clip-nad decomposes CLIP-ResNet (RN50, RN101, RN50x4, RN50x16, RN50x64) only", { file, key: "visual.proj" });
  }
  if (!sd.has("visual.layer1.0.conv1.weight") && !sd.has("visual.attnpool.positional_embedding")) {
    throw new ClipNadError("not a CLIP checkpoint: no 'visual.layer1.*' or 'visual.attnpool.*' tensors found", { file, key: "visual.layer1.0.conv1.weight" });
  }
  const visionLayers = [1, 2, 3, 4].map((b) => countBlocks(sd, `visual.layer${b}.`)) as ClipConfig["visionLayers"];
  const visionWidth = need(sd, "visual.layer1.0.conv1.weight", file).shape[0];
  const pos = need(sd, "visual.attnpool.positional_embedding", file);
  const grid = Math.round(Math.sqrt(pos.shape[0] - 1));
  if (grid * grid + 1 !== pos.shape[0]) {
    throw new ClipNadError(`positional embedding has ${pos.shape[0]} rows, not grid²+1`, { file, key: "visual.attnpool.positional_embedding" });
  }
  const textProj = need(sd, "text_projection", file);
  const C = visionWidth * 32;
  let visionHeads = Math.floor(C / 64);
  const metaConfig = parseMetaConfig(metadata);
  const metaHeads = metadata.vision_heads ?? metaConfig?.vision_heads;
  if (metaHeads !== undefined) {
    visionHeads = Number(metaHeads);
    if (!Number.isInteger(visionHeads) || visionHeads <= 0 || C % visionHeads !== 0) {
      throw new ClipNadError(`metadata vision_heads=${metaHeads} does not divide C=${C}`, { file, key: "__metadata__.vision_heads" });
    }
  }
  const transformerWidth = need(sd, "ln_final.weight", file).shape[0];
  const config: ClipConfig = {
    visionLayers,
    visionWidth,
    visionHeads,
    imageResolution: grid * 32,
    grid,
    embedDim: textProj.shape[1],
    contextLength: need(sd, "positional_embedding", file).shape[0],
    vocabSize: need(sd, "token_embedding.weight", file).shape[0],
    transformerWidth,
    transformerHeads: Math.floor(transformerWidth / 64) || 1,
    transformerLayers: countBlocks(sd, "transformer.resblocks."),
  };
  const metaTextHeads = metadata.transformer_heads ?? metaConfig?.transformer_heads;
  if (metaTextHeads !== undefined) config.transformerHeads = Number(metaTextHeads);
  return config;
}

function parseMetaConfig(metadata: Record<string, string>): Record<string, unknown> | undefined {
  if (!metadata.config) return undefined;
  try {
    return JSON.parse(metadata.config) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
