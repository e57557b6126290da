/**
 * Minimal protobuf encoder: varint, length-delimited and fixed32 fields, enough for ONNX ModelProto.
 *
 * A message is encoded into a list of byte chunks. Small fields go into a growable scratch buffer;
 * big payloads (initializer raw data) are appended as *references* to the caller's bytes, so a
 * multi-GB model is never copied in JS: the chunks are written straight to a file (or concatenated once).
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
void WIRE_FIXED64;

/** Payloads at least this big are referenced, not copied into the scratch buffer. */
const REF_THRESHOLD = 4096;

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(256);
  private pos = 0;
  private flushed = 0;

  /** Total encoded length in bytes. */
  get length(): number {
    return this.flushed + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    const next = new Uint8Array(Math.max(this.scratch.length * 2, this.pos + n));
    next.set(this.scratch.subarray(0, this.pos));
    this.scratch = next;
  }

  private flushScratch(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.scratch.slice(0, this.pos));
    this.flushed += this.pos;
    this.pos = 0;
  }

  /** Unsigned varint for a non-negative safe integer. */
  private rawVarint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`);
    this.ensure(10);
    while (v >= 0x80) {
      this.scratch[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.scratch[this.pos++] = v;
  }

  /** int64 varint; negative values are two's complement, always 10 bytes (via BigInt). */
  private rawInt64(v: number | bigint): void {
    if (typeof v === "number" && v >= 0) return this.rawVarint(v);
    let b = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (b >= 0x80n) {
      this.scratch[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.scratch[this.pos++] = Number(b);
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  /** int32/int64/enum/bool field (varint). */
  int(field: number, v: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawInt64(v);
    return this;
  }

  /** float field (fixed32). */
  float(field: number, v: number): this {
    this.tag(field, WIRE_FIXED32);
    this.ensure(4);
    new DataView(this.scratch.buffer, this.scratch.byteOffset + this.pos, 4).setFloat32(0, v, true);
    this.pos += 4;
    return this;
  }

  /** Packed repeated int64 (one length-delimited field). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.rawInt64(v);
    return this.message(field, inner);
  }

  /** Packed repeated float. */
  packedFloats(field: number, values: readonly number[]): this {
    const bytes = new Uint8Array(values.length * 4);
    const dv = new DataView(bytes.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, bytes);
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, "utf8"));
  }

  /** Length-delimited bytes; large payloads are referenced, not copied. */
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(data.byteLength);
    if (data.byteLength < REF_THRESHOLD) {
      this.ensure(data.byteLength);
      this.scratch.set(data, this.pos);
      this.pos += data.byteLength;
    } else {
      this.flushScratch();
      this.chunks.push(data);
      this.flushed += data.byteLength;
    }
    return this;
  }

  /** Embedded message: its chunks are adopted (not copied). */
  message(field: number, sub: ProtoWriter): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(sub.length);
    const subChunks = sub.finish();
    if (sub.length < REF_THRESHOLD) {
      for (const c of subChunks) {
        this.ensure(c.byteLength);
        this.scratch.set(c, this.pos);
        this.pos += c.byteLength;
      }
    } else {
      this.flushScratch();
      for (const c of subChunks) this.chunks.push(c);
      this.flushed += sub.length;
    }
    return this;
  }

  /** The encoded message as chunks (in order). */
  finish(): Uint8Array[] {
    this.flushScratch();
    return this.chunks;
  }

  /** The encoded message as one contiguous buffer (one copy). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.finish()) {
      out.set(c, off);
      off += c.byteLength;
    }
    return out;
  }
}
