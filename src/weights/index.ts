import * as fs from "fs";
import { ClipNadError } from "../errors";
import { readSafetensors } from "./safetensors";
import { readTorchZip } from "./torchzip";
import { Checkpoint } from "./types";

export { readTorchZip } from "./torchzip";
export { readSafetensors, writeSafetensors, encodeSafetensors, parseSafetensors } from "./safetensors";
export type { Checkpoint, CheckpointFormat, StateDict, Tensor } from "./types";

export type SniffedFormat = "zip" | "safetensors" | "legacy-torch" | "unknown";

/** Look at the first bytes: zip local header / empty-zip EOCD, safetensors (u64 length + '{'), old pickle. */
export function sniffFormat(head: Buffer, fileSize: number): SniffedFormat {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) return "zip";
  if (head.length >= 9) {
    const n = head.readBigUInt64LE(0);
    if (n > 1n && n <= BigInt(Math.max(0, fileSize - 8)) + 1_000_000n && head[8] === 0x7b /* { */) return "safetensors";
  }
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) return "legacy-torch";
  return "unknown";
}

/**
 * Read any supported checkpoint: TorchScript archive (OpenAI .pt), torch.save zip (open_clip .bin), safetensors.
 * All tensors come back as float32 (fp16/int64 upcast); `format` says which container it was.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let size: number;
  const head = Buffer.alloc(16);
  let got = 0;
  try {
    const st = fs.statSync(path);
    if (st.isDirectory()) throw new Error("is a directory");
    size = st.size;
    const fd = fs.openSync(path, "r");
    try {
      got = fs.readSync(fd, head, 0, 16, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new ClipNadError(`cannot read checkpoint file (${(e as Error).message})`, { file: path });
  }
  if (size === 0) throw new ClipNadError("empty file: not a checkpoint", { file: path });
  const kind = sniffFormat(head.subarray(0, got), size);
  switch (kind) {
    case "zip":
      return readTorchZip(path);
    case "safetensors":
      return readSafetensors(path);
    case "legacy-torch":
      throw new ClipNadError("legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with torch >= 1.6 or convert to safetensors", { file: path });
    default:
      throw new ClipNadError("unrecognised checkpoint format: not a zip (torch.save / TorchScript) or safetensors file", { file: path });
  }
}
