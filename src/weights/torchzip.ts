import * as fs from "fs";
import * as zlib from "zlib";
import * as yauzl from "yauzl";
import { ClipNadError } from "../errors";
import { f16ToF32Array } from "./half";
import { isPickleObject, PickleGlobal, PickleValue, unpickle } from "./pickle";
import { Checkpoint, StateDict, Tensor } from "./types";

/**
 * Reader for torch.save zips (torch ≥ 1.6, e.g. open_clip_pytorch_model.bin) and TorchScript archives (OpenAI's
 * .pt). Layout (model.md §2.3): `<archive>/data.pkl` (pickle) + `<archive>/data/<key>` raw little-endian storages,
 * STORED, read directly at their offset; TorchScript archives add `constants.pkl` and `code/`.
 */

interface ZipEntryInfo { name: string; method: number; compressedSize: number; size: number; localHeader: number }

/** Storage element types by torch storage class. */
const STORAGE_DTYPES: Record<string, { dtype: string; bytes: number }> = {
  FloatStorage: { dtype: "float32", bytes: 4 }, HalfStorage: { dtype: "float16", bytes: 2 },
  BFloat16Storage: { dtype: "bfloat16", bytes: 2 }, DoubleStorage: { dtype: "float64", bytes: 8 },
  LongStorage: { dtype: "int64", bytes: 8 }, IntStorage: { dtype: "int32", bytes: 4 },
  ShortStorage: { dtype: "int16", bytes: 2 }, CharStorage: { dtype: "int8", bytes: 1 },
  ByteStorage: { dtype: "uint8", bytes: 1 }, BoolStorage: { dtype: "bool", bytes: 1 },
};

interface StorageRef { kind: "storage"; key: string; dtype: string; bytes: number; numel: number }
interface TensorRef { kind: "tensor"; tensor: Tensor }

/** List a zip's central directory (yauzl handles zip64). Truncated/corrupt archives → ClipNadError. */
function listZip(fd: number, file: string): Promise<ZipEntryInfo[]> {
  return new Promise((resolve, reject) => {
    const corrupt = (e: Error) => reject(new ClipNadError(`truncated or corrupt zip archive (${e.message})`, { file }));
    yauzl.fromFd(fd, { lazyEntries: true, autoClose: false, validateEntrySizes: false, strictFileNames: false }, (err, zip) => {
      if (err || !zip) return corrupt(err ?? new Error("unreadable"));
      const out: ZipEntryInfo[] = [];
      zip.on("error", corrupt);
      zip.on("entry", (e: yauzl.Entry) => {
        out.push({ name: e.fileName, method: e.compressionMethod, compressedSize: e.compressedSize, size: e.uncompressedSize, localHeader: e.relativeOffsetOfLocalHeader });
        zip.readEntry();
      });
      zip.on("end", () => resolve(out));
      zip.readEntry();
    });
  });
}

function readAt(fd: number, offset: number, length: number, file: string, what: string): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, offset + done);
    if (n <= 0) throw new ClipNadError(`truncated file: ${what} ends at byte ${offset + length} but the file ends at byte ${offset + done}`, { file });
    done += n;
  }
  return buf;
}

/** The payload of one entry: STORED entries are read in place at their offset; deflated ones are inflated. */
function readEntry(fd: number, e: ZipEntryInfo, file: string, length = e.size): Buffer {
  const lh = readAt(fd, e.localHeader, 30, file, `local header of '${e.name}'`);
  if (lh.readUInt32LE(0) !== 0x04034b50) throw new ClipNadError(`corrupt zip archive: bad local header signature for '${e.name}'`, { file });
  const start = e.localHeader + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
  if (e.method === 0) return readAt(fd, start, Math.min(length, e.size), file, `entry '${e.name}'`);
  if (e.method === 8) {
    try {
      return zlib.inflateRawSync(readAt(fd, start, e.compressedSize, file, `entry '${e.name}'`));
    } catch (err) {
      throw new ClipNadError(`corrupt zip entry '${e.name}' (${(err as Error).message})`, { file });
    }
  }
  throw new ClipNadError(`zip entry '${e.name}' uses unsupported compression method ${e.method}`, { file });
}

/** Decode `count` elements of a raw little-endian storage buffer into float32. */
function decodeStorage(raw: Buffer, dtype: string, count: number): Float32Array {
  // Typed-array views need aligned offsets: Buffer.alloc gives a fresh, 0-offset ArrayBuffer, so copying is rare.
  let bytes: Uint8Array = raw;
  if (raw.byteOffset % 8 !== 0 || raw.byteLength !== raw.buffer.byteLength) {
    bytes = new Uint8Array(raw.length);
    bytes.set(raw);
  }
  const ab = bytes.buffer;
  switch (dtype) {
    case "float32": return new Float32Array(ab, 0, count);
    case "float16": return f16ToF32Array(new Uint16Array(ab, 0, count));
    case "bfloat16": {
      const src = new Uint16Array(ab, 0, count);
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = src[i] << 16;
      return out;
    }
    case "float64": return Float32Array.from(new Float64Array(ab, 0, count));
    case "int64": return Float32Array.from(new BigInt64Array(ab, 0, count), (v) => Number(v));
    case "int32": return Float32Array.from(new Int32Array(ab, 0, count));
    case "int16": return Float32Array.from(new Int16Array(ab, 0, count));
    case "int8": return Float32Array.from(new Int8Array(ab, 0, count));
    default: return Float32Array.from(new Uint8Array(ab, 0, count));
  }
}

/** Gather a (possibly strided / offset) view of a storage into a contiguous row-major array. */
function gather(storage: Float32Array, offset: number, size: number[], stride: number[]): Float32Array {
  let n = 1;
  for (const s of size) n *= s;
  let contiguous = true;
  for (let d = size.length - 1, expect = 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expect) contiguous = false;
    expect *= size[d];
  }
  if (contiguous) return offset === 0 && n === storage.length ? storage : storage.slice(offset, offset + n);
  const out = new Float32Array(n);
  const idx = new Array(size.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = offset;
    for (let d = 0; d < size.length; d++) src += idx[d] * stride[d];
    out[i] = storage[src];
    for (let d = size.length - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

const toInts = (v: PickleValue, what: string, file: string): number[] => {
  if (!Array.isArray(v)) throw new ClipNadError(`corrupt tensor record: ${what} is not a tuple`, { file });
  return v.map((x) => Number(x));
};

/** Read a torch.save zip or TorchScript archive into float32 tensors keyed by OpenAI state-dict names. */
export async function readTorchZip(path: string): Promise<Checkpoint> {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch (e) {
    throw new ClipNadError(`cannot read file (${(e as Error).message})`, { file: path });
  }
  try {
    const entries = await listZip(fd, path);
    const pkl = entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name)) ?? entries.find((e) => e.name === "data.pkl");
    if (!pkl) throw new ClipNadError("not a torch checkpoint: the zip has no '<archive>/data.pkl'", { file: path });
    const prefix = pkl.name.slice(0, pkl.name.length - "data.pkl".length);
    const byName = new Map(entries.map((e) => [e.name, e]));
    const isScript = byName.has(`${prefix}constants.pkl`) || entries.some((e) => e.name.startsWith(`${prefix}code/`));
    const storages = new Map<string, Float32Array>();

    const loadStorage = (ref: StorageRef): Float32Array => {
      let data = storages.get(ref.key);
      if (data) return data;
      const entry = byName.get(`${prefix}data/${ref.key}`);
      if (!entry) throw new ClipNadError(`corrupt checkpoint: storage '${prefix}data/${ref.key}' is missing from the zip`, { file: path });
      const need = ref.numel * ref.bytes;
      if (entry.size < need) throw new ClipNadError(`corrupt checkpoint: storage '${ref.key}' has ${entry.size} bytes, needs ${need}`, { file: path });
      data = decodeStorage(readEntry(fd, entry, path, need), ref.dtype, ref.numel);
      storages.set(ref.key, data);
      return data;
    };

    const persistentLoad = (pid: PickleValue): PickleValue => {
      if (!Array.isArray(pid) || pid[0] !== "storage") throw new ClipNadError(`unsupported persistent id in data.pkl (${JSON.stringify(String(pid))})`, { file: path });
      const cls = pid[1] as PickleGlobal;
      const info = STORAGE_DTYPES[cls?.name];
      if (!info) throw new ClipNadError(`unsupported tensor storage type '${cls?.module}.${cls?.name}'`, { file: path });
      const ref: StorageRef = { kind: "storage", key: String(pid[2]), dtype: info.dtype, bytes: info.bytes, numel: Number(pid[4]) };
      return ref;
    };

    const reduce = (fn: PickleGlobal, args: PickleValue[]): PickleValue | undefined => {
      const name = `${fn.module}.${fn.name}`;
      if (name === "torch._utils._rebuild_tensor_v2" || name === "torch._utils._rebuild_tensor") {
        const ref = args[0] as unknown as StorageRef;
        if (!ref || ref.kind !== "storage") throw new ClipNadError("corrupt tensor record: no storage", { file: path });
        const offset = Number(args[1]);
        const size = toInts(args[2], "size", path);
        const stride = toInts(args[3], "stride", path);
        let extent = offset + 1;
        for (let d = 0; d < size.length; d++) extent += (size[d] - 1) * stride[d];
        if (size.some((s) => s === 0)) extent = 0;
        if (extent > ref.numel) throw new ClipNadError(`corrupt tensor record: view [${size}] at offset ${offset} exceeds storage '${ref.key}' of ${ref.numel} elements`, { file: path });
        const tensor: Tensor = { shape: size, data: gather(loadStorage(ref), offset, size, stride), storedDtype: ref.dtype };
        const out: TensorRef = { kind: "tensor", tensor };
        return out;
      }
      if (name === "torch._utils._rebuild_parameter" || name === "torch._utils._rebuild_parameter_with_state") return args[0];
      return undefined;
    };

    const program = readEntry(fd, pkl, path);
    const root = unpickle(program, path, { persistentLoad, reduce });
    let tensors: StateDict = new Map();
    collectTensors(root, "", tensors, new Set());
    // Checkpoints saved from DataParallel/DDP prefix every key with "module.".
    if (tensors.size && [...tensors.keys()].every((k) => k.startsWith("module."))) {
      tensors = new Map([...tensors].map(([k, t]) => [k.slice("module.".length), t]));
    }
    return { path, format: isScript ? "torchscript" : "torch-zip", tensors, metadata: {} };
  } finally {
    fs.closeSync(fd);
  }
}

/** Walk dicts (state dicts) and TorchScript module objects (attribute dicts set by BUILD), joining names with ".". */
function collectTensors(v: PickleValue, prefix: string, out: StateDict, seen: Set<unknown>): void {
  if (v === null || typeof v !== "object") return;
  if ((v as { kind?: string }).kind === "tensor") {
    // A tensor shared under several names (tied weights) is emitted under each of them.
    if (prefix && !out.has(prefix)) out.set(prefix, (v as TensorRef).tensor);
    return;
  }
  if (seen.has(v)) return; // containers: guard against cycles
  seen.add(v);
  const join = (k: string) => (prefix ? `${prefix}.${k}` : k);
  if (v instanceof Map) {
    // Common wrappers: {"state_dict": {...}} / {"model": {...}} are unwrapped without adding a name.
    for (const [k, child] of v) {
      if (typeof k !== "string") continue;
      const wrapper = prefix === "" && (k === "state_dict" || k === "model") && child instanceof Map;
      collectTensors(child, wrapper ? "" : join(k), out, seen);
    }
    return;
  }
  if (isPickleObject(v) && v.state !== undefined) collectTensors(v.state, prefix, out, seen);
}
