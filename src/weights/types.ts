/** A named tensor, always upcast to float32 in memory (int64 values are converted to numbers). */
export interface Tensor {
  shape: number[];
  data: Float32Array;
  /** dtype as stored in the file, e.g. "float16", "float32", "int64". */
  storedDtype: string;
}

/** Tensors by OpenAI state-dict key, e.g. "visual.attnpool.c_proj.weight". */
export type StateDict = Map<string, Tensor>;

export type CheckpointFormat = "torchscript" | "torch-zip" | "safetensors";

/** What a checkpoint reader returns. */
export interface Checkpoint {
  path: string;
  format: CheckpointFormat;
  tensors: StateDict;
  /** String metadata stored with the weights (safetensors __metadata__); empty for torch files. */
  metadata: Record<string, string>;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}
