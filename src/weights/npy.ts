import * as fs from "fs";
import { ClipNadError } from "../errors";

/**
 * NumPy .npy files (format v1.0 written, v1/v2/v3 read), little-endian. The writer reproduces numpy.save's
 * header byte for byte (dict repr, spaces to a 64-byte boundary, '\n'), checked against numpy-written goldens.
 */
export type NpyData = Float32Array | Int32Array | Uint8Array | Float64Array;
export type NpyDtype = "<f4" | "<i4" | "|u1" | "<f8";
export interface NpyArray { data: NpyData; shape: number[]; dtype: NpyDtype }

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Int32Array) return "<i4";
  if (data instanceof Uint8Array) return "|u1";
  if (data instanceof Float64Array) return "<f8";
  throw new ClipNadError("npy: unsupported array type (use Float32Array, Int32Array, Uint8Array or Float64Array)");
}

/** Python's repr of a shape tuple: (), (4,), (2, 3). */
function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(", ")})`;
}

export function encodeNpy(data: NpyData, shape: readonly number[]): Buffer {
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.some((s) => !Number.isInteger(s) || s < 0)) throw new ClipNadError(`npy: invalid shape [${shape.join(",")}]`);
  if (n !== data.length) throw new ClipNadError(`npy: shape [${shape.join(",")}] has ${n} elements but the data has ${data.length}`);
  let header = `{'descr': '${dtypeOf(data)}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  // magic(6) + version(2) + u16 length(2) + header + '\n' padded to a multiple of 64 (numpy's ARRAY_ALIGN).
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += " ".repeat(pad % 64) + "\n";
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  // Typed arrays are little-endian on every platform Node supports (x64, arm64).
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([pre, Buffer.from(header, "latin1"), body]);
}

export function writeNpy(path: string, data: NpyData, shape: readonly number[]): void {
  const buf = encodeNpy(data, shape);
  try {
    fs.writeFileSync(path, buf);
  } catch (e) {
    throw new ClipNadError(`cannot write .npy file (${(e as Error).message})`, { file: path });
  }
}

export function decodeNpy(buf: Buffer, file = "<buffer>"): NpyArray {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new ClipNadError("not a .npy file (bad magic)", { file });
  const major = buf[6];
  let hlen: number;
  let start: number;
  if (major === 1) { hlen = buf.readUInt16LE(8); start = 10; }
  else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new ClipNadError("truncated .npy header", { file });
    hlen = buf.readUInt32LE(8); start = 12;
  } else throw new ClipNadError(`unsupported .npy format version ${major}.${buf[7]}`, { file });
  if (start + hlen > buf.length) throw new ClipNadError("truncated .npy header", { file });
  const header = buf.subarray(start, start + hlen).toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new ClipNadError(`corrupt .npy header: ${header.trim()}`, { file });
  if (fortran === "True") throw new ClipNadError("Fortran-ordered .npy arrays are not supported", { file });
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const bytesPer: Record<string, number> = { "<f4": 4, "<i4": 4, "|u1": 1, "<u1": 1, "<f8": 8 };
  const bp = bytesPer[descr];
  if (!bp) throw new ClipNadError(`unsupported .npy dtype '${descr}' (supported: <f4, <i4, |u1, <f8)`, { file });
  const off = start + hlen;
  if (off + n * bp > buf.length) throw new ClipNadError(`truncated .npy data: needs ${n * bp} bytes, has ${buf.length - off}`, { file });
  const raw = new Uint8Array(n * bp);
  raw.set(buf.subarray(off, off + n * bp));
  const dtype = (descr === "<u1" ? "|u1" : descr) as NpyDtype;
  const data: NpyData = dtype === "<f4" ? new Float32Array(raw.buffer) : dtype === "<i4" ? new Int32Array(raw.buffer) : dtype === "<f8" ? new Float64Array(raw.buffer) : raw;
  return { data, shape, dtype };
}

export function readNpy(path: string): NpyArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    throw new ClipNadError(`cannot read .npy file (${(e as Error).message})`, { file: path });
  }
  return decodeNpy(buf, path);
}
