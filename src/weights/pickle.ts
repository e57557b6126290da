import { ClipNadError } from "../errors";

/**
 * A small pickle virtual machine: enough of protocols 0–4 for torch.save state dicts and TorchScript
 * archives (shared/docs/model.md §2.3). Python objects are modelled with plain JS values; the caller decides
 * what GLOBALs, REDUCE and persistent ids mean through hooks. Anything unknown fails loudly with the byte offset.
 */

/** A `module.name` reference pushed by GLOBAL / STACK_GLOBAL. */
export interface PickleGlobal { kind: "global"; module: string; name: string }

/** An instance created by NEWOBJ (TorchScript modules) or an unhandled REDUCE; BUILD stores its state. */
export interface PickleObject { kind: "object"; cls: PickleGlobal; args: PickleValue[]; state?: PickleValue }

// Tuples and lists are both JS arrays; dicts (incl. OrderedDict) are Maps.
export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array
  | PickleValue[] | Map<PickleValue, PickleValue> | PickleGlobal | PickleObject | { kind: string };

export interface PickleHooks {
  /** BINPERSID: turn a persistent id (torch: ('storage', StorageClass, key, location, numel)) into a value. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
  /** REDUCE: return undefined to fall back to the default (OrderedDict → Map, anything else → PickleObject). */
  reduce?: (fn: PickleGlobal, args: PickleValue[]) => PickleValue | undefined;
}

const MARK = Symbol("mark");
type Slot = PickleValue | typeof MARK;

export function isGlobal(v: unknown): v is PickleGlobal {
  return typeof v === "object" && v !== null && (v as { kind?: string }).kind === "global";
}
export function isPickleObject(v: unknown): v is PickleObject {
  return typeof v === "object" && v !== null && (v as { kind?: string }).kind === "object";
}

/** Run the pickle program in `buf` and return the value left by STOP. `file` names the source in errors. */
export function unpickle(buf: Uint8Array, file: string, hooks: PickleHooks = {}): PickleValue {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: Slot[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let opPos = 0;

  const fail = (msg: string): never => {
    throw new ClipNadError(`corrupt pickle (data.pkl): ${msg} at byte ${opPos}`, { file });
  };
  const need = (n: number) => {
    if (pos + n > buf.length) fail(`data ends unexpectedly (needs ${n} more bytes, ${buf.length - pos} left)`);
  };
  const u8 = () => { need(1); return buf[pos++]; };
  const u16 = () => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const u32 = () => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const i32 = () => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const bytes = (n: number) => { need(n); const b = buf.subarray(pos, pos + n); pos += n; return b; };
  const utf8 = (n: number) => Buffer.from(bytes(n)).toString("utf8");
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail("unterminated text line");
    const s = Buffer.from(buf.subarray(pos, end)).toString("latin1");
    pos = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail("stack underflow");
    return stack.pop() as PickleValue;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1] as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    if (!marks.length) fail("no MARK on the stack");
    const m = marks.pop() as number;
    return stack.splice(m) as PickleValue[];
  };
  const asMap = (v: PickleValue, what: string): Map<PickleValue, PickleValue> => {
    if (!(v instanceof Map)) fail(`${what} expects a dict`);
    return v as Map<PickleValue, PickleValue>;
  };
  const asList = (v: PickleValue, what: string): PickleValue[] => {
    if (!Array.isArray(v)) fail(`${what} expects a list`);
    return v as PickleValue[];
  };
  const long = (b: Uint8Array): number | bigint => {
    // Little-endian two's complement of any length.
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const reduce = (fn: PickleValue, args: PickleValue): PickleValue => {
    if (!isGlobal(fn)) fail("REDUCE on something that is not a GLOBAL");
    const g = fn as PickleGlobal;
    const a = asList(args, "REDUCE");
    const custom = hooks.reduce?.(g, a);
    if (custom !== undefined) return custom;
    if (g.module === "collections" && g.name === "OrderedDict") return new Map();
    if (g.module === "builtins" && (g.name === "set" || g.name === "frozenset")) return Array.isArray(a[0]) ? (a[0] as PickleValue[]).slice() : [];
    return { kind: "object", cls: g, args: a };
  };

  while (true) {
    opPos = pos;
    if (pos >= buf.length) fail("data ends before the STOP opcode");
    const op = buf[pos++];
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: bytes(8); break; // FRAME (protocol 4): framing hint only
      case 0x2e: { // STOP
        if (stack.length === 0) fail("STOP with an empty stack");
        return stack[stack.length - 1] as PickleValue;
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(long(bytes(u8()))); break; // LONG1
      case 0x8b: { const n = i32(); if (n < 0) fail("negative LONG4 length"); stack.push(long(bytes(n))); break; }
      case 0x49: { // INT (protocol 0): also encodes True/False as 01/00
        const s = line();
        stack.push(s === "01" ? true : s === "00" ? false : Number(s));
        break;
      }
      case 0x47: { need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT (big-endian)
      case 0x58: stack.push(utf8(u32())); break; // BINUNICODE
      case 0x8c: stack.push(utf8(u8())); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(view.getBigUint64(pos, true)); pos += 8; stack.push(utf8(n)); break; } // BINUNICODE8
      case 0x54: stack.push(Buffer.from(bytes(u32())).toString("latin1")); break; // BINSTRING
      case 0x55: stack.push(Buffer.from(bytes(u8())).toString("latin1")); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x85: { const a = pop(); stack.push([a]); break; } // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x64: { // DICT
        const items = popMark();
        const d = new Map<PickleValue, PickleValue>();
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x61: { const v = pop(); asList(top(), "APPEND").push(v); break; } // APPEND
      case 0x65: { const items = popMark(); asList(top(), "APPENDS").push(...items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); asMap(top(), "SETITEM").set(k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = asMap(top(), "SETITEMS");
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        break;
      }
      case 0x63: { const module = line(); const name = line(); stack.push({ kind: "global", module, name }); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(); const module = pop();
        if (typeof name !== "string" || typeof module !== "string") fail("STACK_GLOBAL expects two strings");
        stack.push({ kind: "global", module: module as string, name: name as string });
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); stack.push(reduce(fn, args)); break; } // REDUCE
      case 0x81: { // NEWOBJ
        const args = pop(); const cls = pop();
        if (!isGlobal(cls)) fail("NEWOBJ on something that is not a GLOBAL");
        stack.push({ kind: "object", cls: cls as PickleGlobal, args: asList(args, "NEWOBJ") });
        break;
      }
      case 0x62: { // BUILD: TorchScript modules keep their attribute dict; OrderedDict/_metadata etc. are ignored
        const state = pop();
        const obj = top();
        if (isPickleObject(obj)) obj.state = state;
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) fail("persistent id (BINPERSID) without a loader");
        stack.push(hooks.persistentLoad!(pid));
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const idx = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(idx)) fail(`memo key ${idx} not defined`);
        stack.push(memo.get(idx) as PickleValue);
        break;
      }
      default:
        throw new ClipNadError(`unknown pickle opcode 0x${op.toString(16).padStart(2, "0")} at byte ${opPos} of data.pkl (corrupt or unsupported checkpoint)`, { file });
    }
  }
}
