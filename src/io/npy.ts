import * as fs from "fs";
import { ClipNadError } from "../errors";
import { writeFileAtomic } from "./atomic";

/**
 * NumPy .npy files, little-endian, C order: v1.0 written, v1/v2/v3 read. Whole arrays are written with numpy.save's
 * header byte for byte (checked against numpy-written goldens). Row files (N×… arrays that grow by appending, the
 * collection's coefficients) keep their header in a fixed 128-byte slot rewritten in place at every commit, so the
 * file is numpy-readable at each commit point and never copied.
 */
export type NpyData = Float32Array | Int32Array | Uint8Array | Float64Array;
export type NpyDtype = "<f4" | "<i4" | "|u1" | "<f8";
export interface NpyArray { data: NpyData; shape: number[]; dtype: NpyDtype }
export interface NpyInfo { dtype: NpyDtype; shape: number[]; dataOffset: number }

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const BYTES: Record<NpyDtype, number> = { "<f4": 4, "<i4": 4, "|u1": 1, "<f8": 8 };
/** Header slot of row files (a multiple of 64, room for any shape clip-nad writes). */
export const NPY_ROW_HEADER_BYTES = 128;

export function bytesPerElement(dtype: NpyDtype): number {
  return BYTES[dtype];
}

export function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Int32Array) return "<i4";
  if (data instanceof Uint8Array) return "|u1";
  if (data instanceof Float64Array) return "<f8";
  throw new ClipNadError("npy: unsupported array type (use Float32Array, Int32Array, Uint8Array or Float64Array)");
}

/** Python's repr of a shape tuple: (), (4,), (2, 3). */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/** npy v1.0 header for (dtype, shape), padded with spaces to `total` bytes (default: numpy's 64-byte alignment). */
export function npyHeader(dtype: NpyDtype | string, shape: readonly number[], total?: number): Buffer {
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  const size = total ?? Math.ceil((10 + dict.length + 1) / 64) * 64;
  if (size < 10 + dict.length + 1) throw new ClipNadError(`npy header for shape (${shape}) does not fit in ${size} bytes`);
  const buf = Buffer.alloc(size, 0x20);
  MAGIC.copy(buf, 0);
  buf[6] = 1;
  buf[7] = 0;
  buf.writeUInt16LE(size - 10, 8);
  buf.write(dict, 10, "latin1");
  buf[size - 1] = 0x0a;
  return buf;
}

/** A whole array as .npy bytes (numpy.save's header). */
export function encodeNpy(data: NpyData, shape: readonly number[]): Buffer {
  if (shape.some((s) => !Number.isInteger(s) || s < 0)) throw new ClipNadError(`npy: invalid shape [${shape.join(",")}]`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new ClipNadError(`npy: shape [${shape.join(",")}] has ${n} elements but the data has ${data.length}`);
  // Typed arrays are little-endian on every platform Node supports (x64, arm64).
  return Buffer.concat([npyHeader(dtypeOf(data), shape), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Write an array as .npy, atomically (temp file + rename): a crash never leaves half a file. */
export function writeNpy(file: string, data: NpyData, shape: readonly number[]): void {
  writeFileAtomic(file, encodeNpy(data, shape));
}

function parseHeader(head: Buffer, file: string): NpyInfo & { headerLength: number } {
  if (head.length < 10 || !head.subarray(0, 6).equals(MAGIC)) throw new ClipNadError("not an .npy file (bad magic)", { file });
  const major = head[6];
  if (major !== 1 && major !== 2 && major !== 3) throw new ClipNadError(`unsupported .npy format version ${major}.${head[7]}`, { file });
  if (major > 1 && head.length < 12) throw new ClipNadError("truncated .npy header", { file });
  const start = major === 1 ? 10 : 12;
  const hlen = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
  return { headerLength: start + hlen, dtype: "<f4", shape: [], dataOffset: start + hlen };
}

function parseDict(text: string, file: string, dataOffset: number): NpyInfo {
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new ClipNadError(`corrupt .npy header: ${text.trim()}`, { file });
  if (fortran === "True") throw new ClipNadError("Fortran-ordered .npy arrays are not supported", { file });
  const dtype = (descr === "<u1" ? "|u1" : descr) as NpyDtype;
  if (!(dtype in BYTES)) throw new ClipNadError(`unsupported .npy dtype '${descr}' (supported: <f4, <i4, |u1, <f8)`, { file });
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length).map(Number);
  if (shape.some((s) => !Number.isInteger(s) || s < 0)) throw new ClipNadError(`corrupt .npy shape (${shapeText})`, { file });
  return { dtype, shape, dataOffset };
}

function viewAs(dtype: NpyDtype, raw: Uint8Array): NpyData {
  const ab = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength ? raw.buffer : raw.slice().buffer;
  if (dtype === "<f4") return new Float32Array(ab);
  if (dtype === "<i4") return new Int32Array(ab);
  if (dtype === "<f8") return new Float64Array(ab);
  return new Uint8Array(ab);
}

/**
 * The header of .npy bytes with any dtype (e.g. '<i8', '|S3' inside scipy's .npz files): descr, shape and where
 * the data starts. decodeNpy reads the dtypes clip-nad stores.
 */
export function parseNpyHeader(buf: Buffer, file = "<buffer>"): { descr: string; shape: number[]; dataOffset: number } {
  const { headerLength } = parseHeader(buf, file);
  if (headerLength > buf.length) throw new ClipNadError("truncated .npy header", { file });
  const text = buf.subarray(buf[6] === 1 ? 10 : 12, headerLength).toString(buf[6] === 3 ? "utf8" : "latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (!descr || shapeText === undefined || /'fortran_order':\s*True/.test(text)) {
    throw new ClipNadError(`unsupported .npy header: ${text.trim()}`, { file });
  }
  const shape = shapeText.split(",").map((t) => t.trim()).filter((t) => t.length).map(Number);
  return { descr, shape, dataOffset: headerLength };
}

/** Parse .npy bytes (the data is copied into a fresh, aligned array). */
export function decodeNpy(buf: Buffer, file = "<buffer>"): NpyArray {
  const { headerLength } = parseHeader(buf, file);
  if (headerLength > buf.length) throw new ClipNadError("truncated .npy header", { file });
  const major = buf[6];
  const text = buf.subarray(major === 1 ? 10 : 12, headerLength).toString(major === 3 ? "utf8" : "latin1");
  const info = parseDict(text, file, headerLength);
  const bytes = info.shape.reduce((a, b) => a * b, 1) * BYTES[info.dtype];
  if (headerLength + bytes > buf.length) {
    throw new ClipNadError(`truncated .npy data: needs ${bytes} bytes, has ${buf.length - headerLength}`, { file });
  }
  const raw = new Uint8Array(bytes);
  raw.set(buf.subarray(headerLength, headerLength + bytes));
  return { data: viewAs(info.dtype, raw), shape: info.shape, dtype: info.dtype };
}

/** Read a whole .npy file. */
export function readNpy(file: string): NpyArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new ClipNadError(`cannot read .npy file (${(e as Error).message})`, { file });
  }
  return decodeNpy(buf, file);
}

/** Read only the header of an .npy file (dtype, shape, where the data starts). */
export function readNpyInfo(file: string): NpyInfo {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    throw new ClipNadError(`cannot open .npy file (${(e as Error).message})`, { file });
  }
  try {
    const head = Buffer.alloc(12);
    const got = fs.readSync(fd, head, 0, 12, 0);
    const { headerLength } = parseHeader(head.subarray(0, got), file);
    const all = Buffer.alloc(headerLength);
    if (fs.readSync(fd, all, 0, headerLength, 0) !== headerLength) throw new ClipNadError("truncated .npy header", { file });
    return parseDict(all.subarray(head[6] === 1 ? 10 : 12).toString(head[6] === 3 ? "utf8" : "latin1"), file, headerLength);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * An .npy file of rows (shape [rows, ...rowShape]) that grows by appending. `commit` rewrites the header with the
 * current row count and fsyncs; `open` cuts the file back to a given committed row count (resume after kill -9).
 */
export class RowNpyWriter {
  readonly rowElems: number;
  readonly rowBytes: number;

  private constructor(readonly path: string, readonly dtype: NpyDtype, readonly rowShape: number[], private fd: number,
    public rows: number) {
    this.rowElems = rowShape.reduce((a, b) => a * b, 1);
    this.rowBytes = this.rowElems * BYTES[dtype];
  }

  /** Open (creating if needed) and cut the file back to `rows` committed rows. */
  static open(file: string, dtype: NpyDtype, rowShape: number[], rows: number): RowNpyWriter {
    const fd = ioCall(file, "open", () => fs.openSync(file, fs.existsSync(file) ? "r+" : "w+"));
    const w = new RowNpyWriter(file, dtype, rowShape, fd, rows);
    const size = fs.fstatSync(fd).size;
    const want = NPY_ROW_HEADER_BYTES + rows * w.rowBytes;
    if (size < want && rows > 0) {
      fs.closeSync(fd);
      throw new ClipNadError(`data file has ${size} bytes but ${rows} committed rows need ${want}; the collection is damaged (delete the folder and collect again)`, { file });
    }
    ioCall(file, "truncate", () => fs.ftruncateSync(fd, want));
    w.writeHeader();
    ioCall(file, "fsync", () => fs.fsyncSync(fd));
    return w;
  }

  append(data: NpyData, rows: number): void {
    if (data.length !== rows * this.rowElems) {
      throw new ClipNadError(`append: ${data.length} values for ${rows} rows of ${this.rowElems}`, { file: this.path });
    }
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const pos = NPY_ROW_HEADER_BYTES + this.rows * this.rowBytes;
    ioCall(this.path, "write", () => {
      let off = 0;
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off, pos + off);
    });
    this.rows += rows;
  }

  /**
   * Make the appended rows durable (one fsync). The header needs no ordering of its own: recovery never trusts it —
   * `open` cuts the file to the row count committed elsewhere and rewrites it.
   */
  commit(): void {
    this.writeHeader();
    ioCall(this.path, "fsync", () => fs.fsyncSync(this.fd));
  }

  private writeHeader(): void {
    const header = npyHeader(this.dtype, [this.rows, ...this.rowShape], NPY_ROW_HEADER_BYTES);
    ioCall(this.path, "write", () => fs.writeSync(this.fd, header, 0, NPY_ROW_HEADER_BYTES, 0));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Random access to the rows of a row-major .npy file without loading it (the N×H×C coefficients). */
export class RowNpyReader {
  readonly info: NpyInfo;
  readonly rows: number;
  readonly rowElems: number;
  private fd: number;

  constructor(readonly path: string) {
    this.info = readNpyInfo(path);
    if (this.info.shape.length === 0) throw new ClipNadError("expected an array of rows, found a scalar", { file: path });
    this.rows = this.info.shape[0];
    this.rowElems = this.info.shape.slice(1).reduce((a, b) => a * b, 1);
    this.fd = fs.openSync(path, "r");
    const need = this.info.dataOffset + this.rows * this.rowElems * BYTES[this.info.dtype];
    const size = fs.fstatSync(this.fd).size;
    if (size < need) {
      fs.closeSync(this.fd);
      throw new ClipNadError(`truncated .npy file: header promises ${need} bytes, file has ${size}`, { file: path });
    }
  }

  /** Rows [start, start+count) as one typed array (count·rowElems values). */
  readRows(start: number, count: number): NpyData {
    if (start < 0 || count < 0 || start + count > this.rows) {
      throw new ClipNadError(`rows [${start}, ${start + count}) out of range 0..${this.rows}`, { file: this.path });
    }
    const bpe = BYTES[this.info.dtype];
    const raw = new Uint8Array(count * this.rowElems * bpe);
    const pos = this.info.dataOffset + start * this.rowElems * bpe;
    let off = 0;
    while (off < raw.length) {
      const got = fs.readSync(this.fd, raw, off, raw.length - off, pos + off);
      if (got === 0) throw new ClipNadError("unexpected end of file", { file: this.path });
      off += got;
    }
    return viewAs(this.info.dtype, raw);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Run a file operation; an OS error (ENOSPC, EIO, …) becomes a ClipNadError naming the file. */
function ioCall<T>(file: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ClipNadError) throw e;
    throw new ClipNadError(`cannot ${what} (${(e as Error).message})`, { file, cause: e, retryable: true });
  }
}
