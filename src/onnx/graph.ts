/**
 * A small ONNX graph builder on top of the protobuf writer: nodes, initializers (raw bytes, never copied),
 * graph inputs and outputs. Outputs are declared with element type only: ORT does not validate declared
 * shapes, so a wrong one would run silently (model.md §3.4).
 */
import * as fs from "fs";
import * as path from "path";
import { ProtoWriter } from "./proto";

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export const IR_VERSION = 8;
export const OPSET = 17;

/** A float attribute that happens to hold an integer value (e.g. alpha 1.0). */
export interface FloatAttr { f: number }
export interface FloatsAttr { floats: number[] }
/** Attribute values: integer → INT, non-integer → FLOAT, number[] → INTS, string → STRING. */
export type AttrValue = number | bigint | number[] | string | FloatAttr | FloatsAttr | TensorData;
export type Attrs = Record<string, AttrValue>;

/** Tensor payload for an initializer or a TENSOR attribute. */
export interface TensorData {
  dims: number[];
  dataType: DataTypeCode;
  /** Little-endian raw bytes (a view: not copied). */
  raw: Uint8Array;
}

export function floatAttr(f: number): FloatAttr {
  return { f };
}

/** A view of typed-array data as raw bytes (no copy; x86/ARM are little-endian). */
export function rawBytes(a: Float32Array | Int32Array | BigInt64Array | Uint16Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function floatTensor(dims: number[], data: Float32Array | number[]): TensorData {
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  return { dims, dataType: DataType.FLOAT, raw: rawBytes(arr) };
}

export function int64Tensor(dims: number[], data: readonly number[]): TensorData {
  return { dims, dataType: DataType.INT64, raw: rawBytes(BigInt64Array.from(data.map((v) => BigInt(v)))) };
}

interface NodeDef { op: string; inputs: string[]; outputs: string[]; attrs: Attrs; name: string }
interface ValueDef { name: string; elemType: DataTypeCode; shape?: (number | string)[] }

export class GraphBuilder {
  private nodes: NodeDef[] = [];
  private inits: { name: string; t: TensorData }[] = [];
  private inputs: ValueDef[] = [];
  private outputs: ValueDef[] = [];
  private used = new Set<string>();
  private counter = 0;
  /** ModelProto.producer_version; clip-nad stores its graph-format version here (see readProducerVersion). */
  producerVersion = "";

  constructor(readonly name: string) {}

  /** A fresh value name with the given stem. */
  fresh(stem: string): string {
    let n: string;
    do n = `${stem}_${this.counter++}`;
    while (this.used.has(n));
    this.used.add(n);
    return n;
  }

  /** Graph input; `shape` entries are numbers or symbolic names (e.g. "batch"). */
  input(name: string, elemType: DataTypeCode, shape?: (number | string)[]): string {
    this.used.add(name);
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  /** Graph output, declared with element type only. */
  output(name: string, elemType: DataTypeCode = DataType.FLOAT): void {
    this.outputs.push({ name, elemType });
  }

  /** Initializer with raw bytes referenced, not copied. */
  initializer(name: string, t: TensorData): string {
    if (this.used.has(name)) throw new Error(`duplicate ONNX value name '${name}'`);
    this.used.add(name);
    this.inits.push({ name, t });
    return name;
  }

  private freshInit(stem: string, t: TensorData): string {
    const name = this.fresh(stem);
    this.inits.push({ name, t });
    return name;
  }

  /** A small constant initializer with a fresh name. */
  constF(stem: string, dims: number[], values: number[] | Float32Array): string {
    return this.freshInit(stem, floatTensor(dims, values));
  }

  constI64(stem: string, values: readonly number[], dims: number[] = [values.length]): string {
    return this.freshInit(stem, int64Tensor(dims, values));
  }

  /**
   * Add a node; returns its output names. `outputs` is a list of names or a count of fresh names.
   */
  nodeN(op: string, inputs: string[], attrs: Attrs = {}, outputs: string[] | number = 1): string[] {
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.fresh(op)) : outputs;
    for (const o of outs) this.used.add(o);
    this.nodes.push({ op, inputs, outputs: outs, attrs, name: `${op}_n${this.nodes.length}` });
    return outs;
  }

  /** Single-output node; `out` names the output (default: fresh). */
  node(op: string, inputs: string[], attrs: Attrs = {}, out?: string): string {
    return this.nodeN(op, inputs, attrs, out ? [out] : 1)[0];
  }

  /** Encode as an ONNX ModelProto (chunks reference the initializer bytes). */
  encode(producer = "clip-nad"): ProtoWriter {
    const graph = new ProtoWriter();
    for (const n of this.nodes) graph.message(1, encodeNode(n));
    graph.string(2, this.name);
    for (const { name, t } of this.inits) graph.message(5, encodeTensor(t, name));
    for (const v of this.inputs) graph.message(11, encodeValueInfo(v));
    for (const v of this.outputs) graph.message(12, encodeValueInfo(v));

    const model = new ProtoWriter();
    model.int(1, IR_VERSION);
    model.string(2, producer);
    if (this.producerVersion) model.string(3, this.producerVersion);
    model.message(7, graph);
    model.message(8, new ProtoWriter().string(1, "").int(2, OPSET));
    return model;
  }

  /** Encoded model as one buffer (for small graphs and tests). */
  toBytes(): Uint8Array {
    return this.encode().toBytes();
  }

  /** Write the model to `file` atomically (temp file + rename), streaming the chunks. */
  writeFile(file: string): number {
    return writeChunksAtomic(file, this.encode());
  }
}

/**
 * producer_version of an ONNX file written by GraphBuilder (fields 1–3 come first, so reading the head is
 * enough); undefined when absent or unreadable.
 */
export function readProducerVersion(file: string): string | undefined {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, "r");
    try {
      head = Buffer.alloc(512);
      head = head.subarray(0, fs.readSync(fd, head, 0, 512, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  let pos = 0;
  const varint = (): number => {
    let v = 0, mul = 1;
    for (;;) {
      if (pos >= head.length) throw new RangeError("truncated");
      const b = head[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  try {
    while (pos < head.length) {
      const tag = varint();
      const field = Math.floor(tag / 8), wire = tag & 7;
      if (wire === 0) { varint(); continue; }
      if (wire !== 2) return undefined;
      const len = varint();
      if (field === 3) return pos + len <= head.length ? head.subarray(pos, pos + len).toString("utf8") : undefined;
      if (field > 3) return undefined;
      pos += len;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Write a ProtoWriter's chunks to `file` through a temp file and rename; returns bytes written. */
export function writeChunksAtomic(file: string, w: ProtoWriter): number {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const total = w.length;
  const fd = fs.openSync(tmp, "w");
  try {
    for (const c of w.finish()) {
      let off = 0;
      while (off < c.byteLength) off += fs.writeSync(fd, c, off, c.byteLength - off);
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
    try { fs.unlinkSync(tmp); } catch { /* nothing to remove */ }
    throw e;
  }
  return total;
}

function encodeTensor(t: TensorData, name?: string): ProtoWriter {
  const w = new ProtoWriter();
  if (t.dims.length) w.packedInts(1, t.dims);
  w.int(2, t.dataType);
  if (name !== undefined) w.string(8, name);
  w.bytes(9, t.raw);
  return w;
}

function encodeValueInfo(v: ValueDef): ProtoWriter {
  const tensorType = new ProtoWriter().int(1, v.elemType);
  if (v.shape) {
    const shape = new ProtoWriter();
    for (const d of v.shape) {
      const dim = new ProtoWriter();
      if (typeof d === "number") dim.int(1, d);
      else dim.string(2, d);
      shape.message(1, dim);
    }
    tensorType.message(2, shape);
  }
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_TENSOR = 4, ATTR_FLOATS = 6, ATTR_INTS = 7;

function encodeAttr(name: string, v: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v))) w.int(3, v).int(20, ATTR_INT);
  else if (typeof v === "number") w.float(2, v).int(20, ATTR_FLOAT);
  else if (typeof v === "string") w.string(4, v).int(20, ATTR_STRING);
  else if (Array.isArray(v)) w.packedInts(8, v).int(20, ATTR_INTS);
  else if ("f" in v) w.float(2, v.f).int(20, ATTR_FLOAT);
  else if ("floats" in v) w.packedFloats(7, v.floats).int(20, ATTR_FLOATS);
  else w.message(5, encodeTensor(v)).int(20, ATTR_TENSOR);
  return w;
}

function encodeNode(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs)) w.message(5, encodeAttr(k, v));
  return w;
}
