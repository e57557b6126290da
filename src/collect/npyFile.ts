import * as fs from "fs";
import { ClipNadError } from "../errors";

/**
 * .npy files for a collection. The big arrays (coefficients N×H×C, embeddings N×d, image index N) are
 * appended row by row; their header is written in a fixed 128-byte slot so that it can be rewritten in place
 * with the committed row count. The file is therefore numpy-readable at every commit point, and nothing is
 * ever copied at finalize (0.59 GB for RN50x16 × 1000 images).
 */
export type NpyDtype = "<f4" | "<i4" | "<f8" | "|u1";
export type NpyData = Float32Array | Int32Array | Float64Array | Uint8Array;

export const NPY_HEADER_BYTES = 128;
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

export function bytesPerElement(dtype: NpyDtype): number {
  return dtype === "<f8" ? 8 : dtype === "|u1" ? 1 : 4;
}

export function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Int32Array) return "<i4";
  if (data instanceof Float64Array) return "<f8";
  return "|u1";
}

/** npy v1.0 header for (dtype, shape); padded with spaces to `total` bytes (a multiple of 64). */
export function npyHeader(dtype: NpyDtype, shape: readonly number[], total?: number): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const minimal = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const size = total ?? minimal;
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

/** Encode a whole array as .npy bytes (minimal header). */
export function encodeNpyBytes(data: NpyData, shape: readonly number[]): Buffer {
  const header = npyHeader(dtypeOf(data), shape);
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Write a small array as .npy atomically (temp file + rename), so a crash never leaves half a file. */
export function writeNpyAtomic(path: string, data: NpyData, shape: readonly number[]): void {
  writeFileAtomic(path, encodeNpyBytes(data, shape));
}

export function writeFileAtomic(path: string, bytes: Buffer | string): void {
  const tmp = `${path}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path);
}

export interface NpyInfo { dtype: NpyDtype; shape: number[]; dataOffset: number }

/** Parse the header of an .npy file (v1/v2/v3, little-endian C order only). */
export function readNpyInfo(path: string): NpyInfo {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch (e) {
    throw new ClipNadError(`cannot open .npy file (${(e as Error).message})`, { file: path });
  }
  try {
    const head = Buffer.alloc(12);
    const got = fs.readSync(fd, head, 0, 12, 0);
    if (got < 10 || !head.subarray(0, 6).equals(MAGIC)) throw new ClipNadError("not an .npy file (bad magic)", { file: path });
    const major = head[6];
    const lenBytes = major === 1 ? 2 : 4;
    const hlen = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
    const start = 8 + lenBytes;
    const text = Buffer.alloc(hlen);
    fs.readSync(fd, text, 0, hlen, start);
    const dict = text.toString("latin1");
    const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
    const fortran = /'fortran_order':\s*(True|False)/.exec(dict)?.[1];
    const shapeText = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1];
    if (!descr || !fortran || shapeText === undefined) throw new ClipNadError(`corrupt .npy header '${dict.trim()}'`, { file: path });
    if (!["<f4", "<i4", "<f8", "|u1"].includes(descr)) throw new ClipNadError(`unsupported .npy dtype '${descr}'`, { file: path });
    if (fortran === "True") throw new ClipNadError("Fortran-ordered .npy arrays are not supported", { file: path });
    const shape = shapeText.split(",").map((x) => x.trim()).filter((x) => x.length > 0).map(Number);
    return { dtype: descr as NpyDtype, shape, dataOffset: start + hlen };
  } finally {
    fs.closeSync(fd);
  }
}

/** Read a whole (small) .npy array. */
export function readNpyArray(path: string): { data: NpyData; shape: number[] } {
  const info = readNpyInfo(path);
  const n = info.shape.reduce((a, b) => a * b, 1);
  const bytes = n * bytesPerElement(info.dtype);
  const buf = Buffer.alloc(bytes);
  const fd = fs.openSync(path, "r");
  try {
    const got = fs.readSync(fd, buf, 0, bytes, info.dataOffset);
    if (got !== bytes) throw new ClipNadError(`truncated .npy file: expected ${bytes} data bytes, found ${got}`, { file: path });
  } finally {
    fs.closeSync(fd);
  }
  return { data: viewAs(info.dtype, buf), shape: info.shape };
}

function viewAs(dtype: NpyDtype, buf: Buffer): NpyData {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  if (dtype === "<f4") return new Float32Array(ab);
  if (dtype === "<i4") return new Int32Array(ab);
  if (dtype === "<f8") return new Float64Array(ab);
  return new Uint8Array(ab);
}

/**
 * An .npy file of rows (shape [rows, ...rowShape]) that grows by appending. `commit` rewrites the header with
 * the current row count and fsyncs; `open` truncates to a given committed row count (resume after kill -9).
 */
export class RowNpyWriter {
  private fd: number;
  readonly rowElems: number;
  readonly rowBytes: number;
  rows: number;

  private constructor(readonly path: string, readonly dtype: NpyDtype, readonly rowShape: number[], fd: number, rows: number) {
    this.fd = fd;
    this.rowElems = rowShape.reduce((a, b) => a * b, 1);
    this.rowBytes = this.rowElems * bytesPerElement(dtype);
    this.rows = rows;
  }

  /** Open (creating if needed) and cut the file back to `rows` committed rows. */
  static open(path: string, dtype: NpyDtype, rowShape: number[], rows: number): RowNpyWriter {
    const fd = fs.openSync(path, fs.existsSync(path) ? "r+" : "w+");
    const w = new RowNpyWriter(path, dtype, rowShape, fd, rows);
    const size = fs.fstatSync(fd).size;
    const want = NPY_HEADER_BYTES + rows * w.rowBytes;
    if (size < want && rows > 0) {
      fs.closeSync(fd);
      throw new ClipNadError(`data file has ${size} bytes but ${rows} committed rows need ${want}; the collection is damaged (delete the folder and collect again)`, { file: path });
    }
    fs.ftruncateSync(fd, want);
    w.writeHeader();
    fs.fsyncSync(fd);
    return w;
  }

  append(data: NpyData, rows: number): void {
    if (data.length !== rows * this.rowElems) throw new ClipNadError(`append: ${data.length} values for ${rows} rows of ${this.rowElems}`, { file: this.path });
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let off = 0;
    const pos = NPY_HEADER_BYTES + this.rows * this.rowBytes;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off, pos + off);
    this.rows += rows;
  }

  /**
   * Make the appended rows durable (one fsync). The header is rewritten first but needs no ordering of its own:
   * recovery never trusts it — `open` cuts the file to the row count committed in progress.json and rewrites it.
   */
  commit(): void {
    this.writeHeader();
    fs.fsyncSync(this.fd);
  }

  private writeHeader(): void {
    fs.writeSync(this.fd, npyHeader(this.dtype, [this.rows, ...this.rowShape], NPY_HEADER_BYTES), 0, NPY_HEADER_BYTES, 0);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Random access to the rows of a row-major .npy file without loading it (for N×H×C coefficients). */
export class RowNpyReader {
  readonly info: NpyInfo;
  readonly rows: number;
  readonly rowElems: number;
  private fd: number;

  constructor(readonly path: string) {
    this.info = readNpyInfo(path);
    this.rows = this.info.shape[0];
    this.rowElems = this.info.shape.slice(1).reduce((a, b) => a * b, 1);
    this.fd = fs.openSync(path, "r");
    const need = this.info.dataOffset + this.rows * this.rowElems * bytesPerElement(this.info.dtype);
    const size = fs.fstatSync(this.fd).size;
    if (size < need) {
      fs.closeSync(this.fd);
      throw new ClipNadError(`truncated .npy file: header promises ${need} bytes, file has ${size}`, { file: path });
    }
  }

  /** Rows [start, start+count) as one typed array (count·rowElems values), optionally into `out`. */
  readRows(start: number, count: number, out?: NpyData): NpyData {
    if (start < 0 || count < 0 || start + count > this.rows) throw new ClipNadError(`rows [${start}, ${start + count}) out of range 0..${this.rows}`, { file: this.path });
    const bpe = bytesPerElement(this.info.dtype);
    const bytes = count * this.rowElems * bpe;
    const buf = Buffer.alloc(bytes);
    let off = 0;
    const pos = this.info.dataOffset + start * this.rowElems * bpe;
    while (off < bytes) {
      const got = fs.readSync(this.fd, buf, off, bytes - off, pos + off);
      if (got === 0) throw new ClipNadError("unexpected end of file", { file: this.path });
      off += got;
    }
    const arr = viewAs(this.info.dtype, buf);
    if (out) {
      (out as Float32Array).set(arr as Float32Array);
      return out;
    }
    return arr;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
