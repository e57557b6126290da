/**
 * Minimal MATLAB MAT-file level 5 reader (and writer, for tests and exports): enough for the struct arrays,
 * cell arrays, char arrays and numeric arrays of dataset devkits (Stanford Cars cars_meta.mat / cars_*_annos.mat,
 * ILSVRC2012 devkit meta.mat). Handles miCOMPRESSED (zlib) elements and small-element tags. Little-endian only
 * (every devkit file in use is). Sparse, object and function-handle arrays are reported as unsupported.
 */
import * as fs from "fs";
import * as zlib from "zlib";
import { ClipNadError } from "../errors";

export type MatValue =
  | { kind: "numeric"; dims: number[]; data: Float64Array }
  | { kind: "char"; dims: number[]; rows: string[] }
  | { kind: "cell"; dims: number[]; cells: MatValue[] }
  | { kind: "struct"; dims: number[]; fields: string[]; elements: Record<string, MatValue>[] };

const mi = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, INT64: 12, UINT64: 13, MATRIX: 14, COMPRESSED: 15, UTF8: 16, UTF16: 17, UTF32: 18 };
const mx = { CELL: 1, STRUCT: 2, OBJECT: 3, CHAR: 4, SPARSE: 5 };

interface Element { type: number; data: Buffer }

class Reader {
  constructor(private buf: Buffer, private file: string, public pos = 0) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  element(padded = true): Element {
    if (this.pos + 8 > this.buf.length) throw new ClipNadError(`truncated MAT file: data element tag at byte ${this.pos}`, { file: this.file });
    const w0 = this.buf.readUInt32LE(this.pos);
    if (w0 >>> 16 !== 0) {
      // Small data element: type and size packed in 4 bytes, data in the next 4.
      const type = w0 & 0xffff, n = w0 >>> 16;
      const data = this.buf.subarray(this.pos + 4, this.pos + 4 + n);
      this.pos += 8;
      return { type, data };
    }
    const n = this.buf.readUInt32LE(this.pos + 4);
    const start = this.pos + 8;
    if (start + n > this.buf.length) throw new ClipNadError(`truncated MAT file: element of ${n} bytes at byte ${this.pos}`, { file: this.file });
    const data = this.buf.subarray(start, start + n);
    this.pos = start + (padded && w0 !== mi.COMPRESSED ? Math.ceil(n / 8) * 8 : n);
    return { type: w0, data };
  }
}

function numbers(e: Element, file: string): Float64Array {
  const d = e.data;
  const ab = d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength);
  switch (e.type) {
    case mi.INT8: return Float64Array.from(new Int8Array(ab));
    case mi.UINT8: case mi.UTF8: return Float64Array.from(new Uint8Array(ab));
    case mi.INT16: return Float64Array.from(new Int16Array(ab));
    case mi.UINT16: case mi.UTF16: return Float64Array.from(new Uint16Array(ab));
    case mi.INT32: return Float64Array.from(new Int32Array(ab));
    case mi.UINT32: case mi.UTF32: return Float64Array.from(new Uint32Array(ab));
    case mi.SINGLE: return Float64Array.from(new Float32Array(ab));
    case mi.DOUBLE: return new Float64Array(ab);
    case mi.INT64: return Float64Array.from(new BigInt64Array(ab), (v) => Number(v));
    case mi.UINT64: return Float64Array.from(new BigUint64Array(ab), (v) => Number(v));
    default: throw new ClipNadError(`unsupported MAT data type ${e.type}`, { file });
  }
}

function parseMatrix(data: Buffer, file: string, name = ""): { name: string; value: MatValue } {
  if (data.length === 0) return { name, value: { kind: "numeric", dims: [0, 0], data: new Float64Array(0) } };
  const r = new Reader(data, file);
  const flags = r.element().data.readUInt32LE(0);
  const cls = flags & 0xff;
  const dims = Array.from(numbers(r.element(), file));
  const arrayName = r.element().data.toString("latin1");
  const count = dims.reduce((a, b) => a * b, 1);
  const where = arrayName || name || "<unnamed>";
  if (cls === mx.CELL) {
    const cells: MatValue[] = [];
    for (let i = 0; i < count; i++) cells.push(parseMatrix(r.element().data, file, `${where}{${i}}`).value);
    return { name: arrayName, value: { kind: "cell", dims, cells } };
  }
  if (cls === mx.STRUCT) {
    const fieldLen = numbers(r.element(), file)[0];
    const namesBuf = r.element().data;
    const fields: string[] = [];
    for (let o = 0; o + fieldLen <= namesBuf.length; o += fieldLen) fields.push(namesBuf.subarray(o, o + fieldLen).toString("latin1").replace(/\0+$/, ""));
    const elements: Record<string, MatValue>[] = [];
    for (let i = 0; i < count; i++) {
      const el: Record<string, MatValue> = {};
      for (const f of fields) el[f] = parseMatrix(r.element().data, file, `${where}.${f}`).value;
      elements.push(el);
    }
    return { name: arrayName, value: { kind: "struct", dims, fields, elements } };
  }
  if (cls === mx.CHAR) {
    const codes = count === 0 ? new Float64Array(0) : numbers(r.element(), file);
    const e = codes;
    const [nr, nc] = [dims[0] ?? 0, dims.length > 1 ? dims.slice(1).reduce((a, b) => a * b, 1) : 1];
    const rows: string[] = [];
    for (let i = 0; i < nr; i++) {
      let s = "";
      for (let j = 0; j < nc; j++) s += String.fromCharCode(e[j * nr + i]); // column-major
      rows.push(s);
    }
    return { name: arrayName, value: { kind: "char", dims, rows } };
  }
  if (cls === mx.SPARSE || cls === mx.OBJECT || cls < 1 || cls > 15) {
    throw new ClipNadError(`MAT array '${where}' has unsupported class ${cls} (sparse/object arrays are not read)`, { file });
  }
  const real = count === 0 ? new Float64Array(0) : numbers(r.element(), file);
  return { name: arrayName, value: { kind: "numeric", dims, data: real } };
}

/** All top-level variables of a MAT v5 file, by name. */
export function readMat(path: string): Map<string, MatValue> {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    throw new ClipNadError(`cannot read MAT file (${(e as Error).message})`, { file: path });
  }
  return parseMat(buf, path);
}

export function parseMat(buf: Buffer, path = "<buffer>"): Map<string, MatValue> {
  if (buf.length < 128) throw new ClipNadError("not a MAT file: shorter than the 128-byte header", { file: path });
  const head = buf.subarray(0, 116).toString("latin1");
  if (head.startsWith("MATLAB 7.3") || buf.subarray(0, 8).toString("latin1") === "\x89HDF\r\n\x1a\n") {
    throw new ClipNadError("MAT v7.3 (HDF5) files are not supported; re-save with -v7 or use the CSV/JSON export", { file: path });
  }
  if (!head.startsWith("MATLAB 5.0 MAT-file")) throw new ClipNadError("not a MAT v5 file (header does not start with 'MATLAB 5.0 MAT-file')", { file: path });
  if (buf.subarray(126, 128).toString("latin1") !== "IM") throw new ClipNadError("big-endian MAT files are not supported", { file: path });
  const out = new Map<string, MatValue>();
  const r = new Reader(buf, path, 128);
  while (!r.done()) {
    let e = r.element();
    if (e.type === mi.COMPRESSED) {
      let inflated: Buffer;
      try {
        inflated = zlib.inflateSync(e.data);
      } catch (err) {
        throw new ClipNadError(`corrupt compressed element (${(err as Error).message})`, { file: path });
      }
      e = new Reader(inflated, path).element();
    }
    if (e.type !== mi.MATRIX) continue;
    const { name, value } = parseMatrix(e.data, path);
    out.set(name, value);
  }
  return out;
}

// ---- writer (uncompressed or compressed), used to build look-alike devkit files -------------------------------

function tag(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(payload.length, 4);
  const pad = Buffer.alloc((8 - (payload.length % 8)) % 8);
  return Buffer.concat([head, payload, pad]);
}

function i32(values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
  return b;
}

function matrix(value: MatValue, name: string): Buffer {
  const clsOf = { numeric: 6, char: mx.CHAR, cell: mx.CELL, struct: mx.STRUCT }[value.kind];
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(clsOf, 0);
  const parts = [tag(mi.UINT32, flags), tag(mi.INT32, i32(value.dims)), tag(mi.INT8, Buffer.from(name, "latin1"))];
  if (value.kind === "numeric") {
    parts.push(tag(mi.DOUBLE, Buffer.from(value.data.buffer, value.data.byteOffset, value.data.byteLength)));
  } else if (value.kind === "char") {
    const nr = value.dims[0], nc = value.dims[1];
    const codes = Buffer.alloc(2 * nr * nc);
    for (let i = 0; i < nr; i++) for (let j = 0; j < nc; j++) codes.writeUInt16LE(value.rows[i].charCodeAt(j) || 32, 2 * (j * nr + i));
    parts.push(tag(mi.UINT16, codes));
  } else if (value.kind === "cell") {
    for (const c of value.cells) parts.push(matrix(c, ""));
  } else {
    const len = Math.max(...value.fields.map((f) => f.length)) + 1;
    const names = Buffer.alloc(len * value.fields.length);
    value.fields.forEach((f, i) => names.write(f, i * len, "latin1"));
    parts.push(tag(mi.INT32, i32([len])), tag(mi.INT8, names));
    for (const el of value.elements) for (const f of value.fields) parts.push(matrix(el[f], ""));
  }
  return tag(mi.MATRIX, Buffer.concat(parts));
}

/** MAT v5 bytes holding the given variables; `compress` wraps each in a zlib miCOMPRESSED element. */
export function encodeMat(vars: Record<string, MatValue>, compress = false): Buffer {
  const header = Buffer.alloc(128, 32);
  header.write("MATLAB 5.0 MAT-file, written by clip-nad", 0, "latin1");
  header.writeUInt16LE(0x0100, 124);
  header.write("IM", 126, "latin1");
  const body = Object.entries(vars).map(([name, v]) => {
    const m = matrix(v, name);
    if (!compress) return m;
    const z = zlib.deflateSync(m);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(mi.COMPRESSED, 0);
    head.writeUInt32LE(z.length, 4);
    return Buffer.concat([head, z]);
  });
  return Buffer.concat([header, ...body]);
}

/** Helpers to build values. */
export const mat = {
  num: (values: number[], dims = [1, values.length]): MatValue => ({ kind: "numeric", dims, data: Float64Array.from(values) }),
  str: (s: string): MatValue => ({ kind: "char", dims: [1, s.length], rows: [s] }),
  cellRow: (cells: MatValue[]): MatValue => ({ kind: "cell", dims: [1, cells.length], cells }),
  structRow: (elements: Record<string, MatValue>[]): MatValue => ({ kind: "struct", dims: [1, elements.length], fields: Object.keys(elements[0] ?? {}), elements }),
};

/** A char or 1-element cell-of-char value as a string; numeric scalars as their decimal text. */
export function matString(v: MatValue | undefined): string | undefined {
  if (!v) return undefined;
  if (v.kind === "char") return v.rows.join("\n").trimEnd();
  if (v.kind === "cell" && v.cells.length === 1) return matString(v.cells[0]);
  if (v.kind === "numeric" && v.data.length === 1) return String(v.data[0]);
  return undefined;
}

/** A numeric scalar (or 1-element cell of one). */
export function matNumber(v: MatValue | undefined): number | undefined {
  if (!v) return undefined;
  if (v.kind === "numeric" && v.data.length >= 1) return v.data[0];
  if (v.kind === "cell" && v.cells.length === 1) return matNumber(v.cells[0]);
  return undefined;
}
