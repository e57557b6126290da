import { Checkpoint } from "../weights/types";
import { readCheckpoint } from "../weights";
import { ClipConfig, inferConfig } from "./config";
import { validateClipWeights } from "./keys";

/** Read any supported checkpoint, infer its config (OpenAI build_model rules) and validate every tensor. */
export async function loadClipCheckpoint(path: string): Promise<{ checkpoint: Checkpoint; config: ClipConfig }> {
  const checkpoint = await readCheckpoint(path);
  return { checkpoint, config: clipConfigOf(checkpoint) };
}

/** The config of a read checkpoint, after checking that every CLIP-ResNet tensor is there with its shape. */
export function clipConfigOf(ck: Checkpoint): ClipConfig {
  const config = inferConfig(ck.tensors, ck.path, ck.metadata);
  validateClipWeights(ck.tensors, config, ck.path);
  return config;
}
