import * as fs from "fs";
import { ClipNadError } from "../errors";
import { f16ToF32Array, f32ToF16Array } from "./half";
import { Checkpoint, StateDict, Tensor, numel } from "./types";

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const DTYPE_NAME: Record<string, string> = {
  F32: "float32", F16: "float16", BF16: "bfloat16", F64: "float64", I64: "int64", I32: "int32", I16: "int16", I8: "int8", U8: "uint8", BOOL: "bool",
};

interface HeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number] }

/**
 * Read a .safetensors file (u64 header length, JSON header, raw little-endian data), one tensor at a time: memory
 * holds the float32 tensors plus one tensor's raw bytes, never the whole file (582 MB for an fp16 RN50x16).
 */
export function readSafetensors(path: string): Checkpoint {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch (e) {
    throw new ClipNadError(`cannot read file (${(e as Error).message})`, { file: path });
  }
  try {
    const size = fs.fstatSync(fd).size;
    const read = (offset: number, length: number): Buffer => {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = fs.readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return got === length ? buf : buf.subarray(0, got);
    };
    const head = read(0, 8);
    if (head.length < 8) throw new ClipNadError("truncated safetensors file: shorter than the 8-byte header length", { file: path });
    const headerLen = Number(head.readBigUInt64LE(0));
    if (headerLen <= 0 || 8 + headerLen > size) {
      throw new ClipNadError(`truncated or corrupt safetensors file: header length ${headerLen} exceeds file size ${size}`, { file: path });
    }
    return parseEntries(read(8, headerLen), 8 + headerLen, size, path, (start, length) => read(start, length));
  } finally {
    fs.closeSync(fd);
  }
}

export function parseSafetensors(buf: Buffer, path = "<buffer>"): Checkpoint {
  if (buf.length < 8) throw new ClipNadError("truncated safetensors file: shorter than the 8-byte header length", { file: path });
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > buf.length) {
    throw new ClipNadError(`truncated or corrupt safetensors file: header length ${headerLen} exceeds file size ${buf.length}`, { file: path });
  }
  return parseEntries(buf.subarray(8, 8 + headerLen), 8 + headerLen, buf.length, path, (start, length) => buf.subarray(start, start + length));
}

/** Decode the header and every tensor; `bytes(start, length)` gives the raw bytes at an absolute file offset. */
function parseEntries(headerBytes: Buffer, dataStart: number, fileSize: number, path: string, bytes: (start: number, length: number) => Buffer): Checkpoint {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(headerBytes.toString("utf8"));
  } catch (e) {
    throw new ClipNadError(`corrupt safetensors header (invalid JSON: ${(e as Error).message})`, { file: path });
  }
  const metadata: Record<string, string> = {};
  const tensors: StateDict = new Map();
  for (const [key, value] of Object.entries(header)) {
    if (key === "__metadata__") {
      for (const [mk, mv] of Object.entries((value ?? {}) as Record<string, unknown>)) metadata[mk] = String(mv);
      continue;
    }
    const entry = value as HeaderEntry;
    const bytesPer = DTYPE_BYTES[entry.dtype];
    if (!bytesPer) throw new ClipNadError(`unsupported safetensors dtype '${entry.dtype}'`, { file: path, key });
    const [start, end] = entry.data_offsets;
    const n = numel(entry.shape);
    if (end - start !== n * bytesPer) {
      throw new ClipNadError(`data size ${end - start} does not match shape [${entry.shape}] of ${entry.dtype}`, { file: path, key });
    }
    if (dataStart + end > fileSize) {
      throw new ClipNadError(`truncated file: tensor data ends at byte ${dataStart + end} but the file has ${fileSize}`, { file: path, key });
    }
    tensors.set(key, { shape: entry.shape.slice(), data: decode(bytes(dataStart + start, end - start), 0, n, entry.dtype), storedDtype: DTYPE_NAME[entry.dtype] });
  }
  return { path, format: "safetensors", tensors, metadata };
}

function decode(buf: Buffer, offset: number, n: number, dtype: string): Float32Array {
  const bytes = buf.subarray(offset, offset + n * DTYPE_BYTES[dtype]);
  // Copy into an aligned buffer so typed-array views are legal whatever the offset.
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  switch (dtype) {
    case "F32": return new Float32Array(aligned.buffer);
    case "F16": return f16ToF32Array(new Uint16Array(aligned.buffer));
    case "BF16": {
      const src = new Uint16Array(aligned.buffer);
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = src[i] << 16;
      return out;
    }
    case "F64": return Float32Array.from(new Float64Array(aligned.buffer));
    case "I64": return Float32Array.from(new BigInt64Array(aligned.buffer), (v) => Number(v));
    case "I32": return Float32Array.from(new Int32Array(aligned.buffer));
    case "I16": return Float32Array.from(new Int16Array(aligned.buffer));
    case "I8": return Float32Array.from(new Int8Array(aligned.buffer));
    default: return Float32Array.from(aligned);
  }
}

/** Write tensors as safetensors (float32 or float16), with string metadata. */
export function writeSafetensors(
  path: string,
  tensors: Map<string, Tensor> | Array<[string, Tensor]>,
  opts: { dtype?: "F32" | "F16"; metadata?: Record<string, string> } = {},
): void {
  fs.writeFileSync(path, encodeSafetensors(tensors, opts));
}

export function encodeSafetensors(
  tensors: Map<string, Tensor> | Array<[string, Tensor]>,
  opts: { dtype?: "F32" | "F16"; metadata?: Record<string, string> } = {},
): Buffer {
  const dtype = opts.dtype ?? "F32";
  const entries = Array.isArray(tensors) ? tensors : [...tensors.entries()];
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [key, t] of entries) {
    const bytes = dtype === "F16" ? Buffer.from(f32ToF16Array(t.data).buffer) : Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[key] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8 !== 0) json += " ";
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json, "utf8"), ...chunks]);
}

