/**
 * The inner loop of Batch-OMP as a WebAssembly SIMD function, assembled here byte by byte (no toolchain):
 *
 *   out[k] = xy[k] − Σ_{j<n} coef[j] · rows[j][k]        k = 0..len−1
 *
 * i.e. α = Dᵀx − G_{:,I} γ with the active atoms' Gram rows copied side by side into wasm memory (sklearn's
 * `alpha = Xy − Gram[:, :n_active] @ gamma`). It is the only O(K·n) step per OMP iteration; in plain JS the loop
 * runs at ~0.3–0.7 G multiply-adds/s, in 128-bit SIMD at ~2–4 G (float32) / ~1–1.8 G (float64) on this project's
 * machines. Two variants: f32x4 (float32 Gram) and f64x2 (float64 Gram). Rows are unrolled four at a time.
 */

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...Buffer.from(s, "utf8")].map((x) => [x]));
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];

// Core opcodes (WebAssembly 2.0 binary format) and the SIMD ones (prefix 0xfd + LEB128 opcode).
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  ltU: [0x49],
  gtS: [0x4a],
  geS: [0x4e],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  end: [0x0b],
  f32Load: (offset: number) => [0x2a, 2, ...uleb(offset)],
  f64Load: (offset: number) => [0x2b, 3, ...uleb(offset)],
};
const simd = (code: number) => [0xfd, ...uleb(code)];

/** The end of a counted loop: counter += step; continue while counter < limit (unsigned); end. */
const loopBack = (counter: number, step: number, limit: number) => [
  ...op.get(counter),
  ...op.i32(step),
  ...op.add,
  ...op.tee(counter),
  ...op.get(limit),
  ...op.ltU,
  ...op.brIf(0),
  ...op.end,
];
const v = {
  load: [...simd(0x00), 4, 0],
  store: [...simd(0x0b), 4, 0],
  f32Splat: simd(0x13),
  f64Splat: simd(0x14),
  f32Sub: simd(0xe5),
  f32Mul: simd(0xe6),
  f64Sub: simd(0xf1),
  f64Mul: simd(0xf2),
  f32Abs: simd(0xe0),
  f32Max: simd(0xe9),
  f32Eq: simd(0x41),
  f64Abs: simd(0xec),
  f64Max: simd(0xf5),
  f64Eq: simd(0x47),
  anyTrue: simd(0x53),
  f32Lane: (lane: number) => [...simd(0x1f), lane],
  f64Lane: (lane: number) => [...simd(0x21), lane],
};

/**
 * residual(out, xy, rows, coef, n, len): byte pointers; `len` = bytes of one row (a multiple of 16), rows are
 * `len` apart; coef holds n scalars of the element type.
 */
function residualFunction(f64: boolean): number[] {
  const P = { out: 0, xy: 1, rows: 2, coef: 3, n: 4, len: 5 };
  const L = { i: 6, j: 7, r0: 8, c0: 12 }; // r0..r3 (i32), c0..c3 (v128)
  const sub = f64 ? v.f64Sub : v.f32Sub;
  const mul = f64 ? v.f64Mul : v.f32Mul;
  const splat = f64 ? v.f64Splat : v.f32Splat;
  const size = f64 ? 8 : 4;
  const load = (offset: number) => (f64 ? op.f64Load(offset) : op.f32Load(offset));
  const b: number[] = [];
  const forEachVector = (body: number[]) => {
    // i = 0; loop { body; i += 16; br_if (i < len) }
    b.push(...op.i32(0), ...op.set(L.i), ...op.loop, ...body);
    b.push(...loopBack(L.i, 16, P.len));
  };
  const at = (ptr: number) => [...op.get(ptr), ...op.get(L.i), ...op.add];
  const coefSplat = (q: number, local: number) => [
    ...op.get(P.coef),
    ...op.get(L.j),
    ...op.i32(f64 ? 3 : 2),
    ...op.shl,
    ...op.add,
    ...load(q * size),
    ...splat,
    ...op.set(local),
  ];
  // out = xy
  forEachVector([...at(P.out), ...at(P.xy), ...v.load, ...v.store]);
  // four rows at a time: j = 0; while (j + 4 <= n)
  b.push(...op.i32(0), ...op.set(L.j), ...op.block, ...op.loop);
  b.push(...op.get(L.j), ...op.i32(4), ...op.add, ...op.get(P.n), ...op.gtS, ...op.brIf(1));
  b.push(...op.get(P.rows), ...op.get(L.j), ...op.get(P.len), ...op.mul, ...op.add, ...op.tee(L.r0));
  for (let q = 1; q < 4; q++) b.push(...op.get(P.len), ...op.add, ...(q < 3 ? op.tee(L.r0 + q) : op.set(L.r0 + q)));
  for (let q = 0; q < 4; q++) b.push(...coefSplat(q, L.c0 + q));
  const four: number[] = [...at(P.out), ...at(P.out), ...v.load];
  for (let q = 0; q < 4; q++) four.push(...at(L.r0 + q), ...v.load, ...op.get(L.c0 + q), ...mul, ...sub);
  four.push(...v.store);
  forEachVector(four);
  b.push(...op.get(L.j), ...op.i32(4), ...op.add, ...op.set(L.j), ...op.br(0), ...op.end, ...op.end);
  // the remaining rows one at a time: while (j < n)
  b.push(...op.block, ...op.loop);
  b.push(...op.get(L.j), ...op.get(P.n), ...op.geS, ...op.brIf(1));
  b.push(...op.get(P.rows), ...op.get(L.j), ...op.get(P.len), ...op.mul, ...op.add, ...op.set(L.r0));
  b.push(...coefSplat(0, L.c0));
  forEachVector([
    ...at(P.out),
    ...at(P.out),
    ...v.load,
    ...at(L.r0),
    ...v.load,
    ...op.get(L.c0),
    ...mul,
    ...sub,
    ...v.store,
  ]);
  b.push(...op.get(L.j), ...op.i32(1), ...op.add, ...op.set(L.j), ...op.br(0), ...op.end, ...op.end);
  b.push(...op.end);
  const body = [
    ...vec([
      [...uleb(6), I32],
      [...uleb(4), V128],
    ]),
    ...b,
  ];
  return [...uleb(body.length), ...body];
}

// The WebAssembly global without lib.dom (clip-nad compiles without DOM types): the few members used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number; maximum?: number }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * maxabs(ptr, len) → max |x| over the vectors (f64; NaN propagates). `len` is a multiple of 64 bytes: four
 * independent accumulators, so the loop is not bound by the latency of one max chain.
 */
function maxAbsFunction(f64: boolean): number[] {
  const P = { ptr: 0, len: 1 };
  const L = { i: 2, acc: 3 }; // acc0..acc3
  const abs = f64 ? v.f64Abs : v.f32Abs;
  const max = f64 ? v.f64Max : v.f32Max;
  const b: number[] = [];
  b.push(...op.i32(0), ...op.set(L.i), ...op.loop);
  for (let q = 0; q < 4; q++) {
    b.push(
      ...op.get(L.acc + q),
      ...op.get(P.ptr),
      ...op.get(L.i),
      ...op.add,
      ...(q ? op.i32(16 * q) : []),
      ...(q ? op.add : []),
    );
    b.push(...v.load, ...abs, ...max, ...op.set(L.acc + q));
  }
  b.push(...loopBack(L.i, 64, P.len));
  b.push(
    ...op.get(L.acc),
    ...op.get(L.acc + 1),
    ...max,
    ...op.get(L.acc + 2),
    ...op.get(L.acc + 3),
    ...max,
    ...max,
    ...op.set(L.acc),
  );
  if (f64) {
    b.push(...op.get(L.acc), ...v.f64Lane(0), ...op.get(L.acc), ...v.f64Lane(1), 0xa5); // f64.max
  } else {
    b.push(...op.get(L.acc), ...v.f32Lane(0), ...op.get(L.acc), ...v.f32Lane(1), 0x97); // f32.max
    b.push(...op.get(L.acc), ...v.f32Lane(2), 0x97, ...op.get(L.acc), ...v.f32Lane(3), 0x97, 0xbb); // → f64.promote_f32
  }
  b.push(...op.end);
  const body = [
    ...vec([
      [...uleb(1), I32],
      [...uleb(4), V128],
    ]),
    ...b,
  ];
  return [...uleb(body.length), ...body];
}

/**
 * find(ptr, start, len, value) → byte offset of the first vector at or after `start` holding an x with
 * |x| = value, or −1.
 */
function findFunction(f64: boolean): number[] {
  const P = { ptr: 0, start: 1, len: 2, value: 3 };
  const L = { i: 4, target: 5 };
  const b: number[] = [];
  // the target |x| as a vector (f32: f32.demote_f64 first)
  b.push(...op.get(P.value), ...(f64 ? [] : [0xb6]), ...(f64 ? v.f64Splat : v.f32Splat), ...op.set(L.target));
  b.push(...op.get(P.start), ...op.set(L.i), ...op.block, ...op.loop);
  b.push(...op.get(L.i), ...op.get(P.len), ...op.geS, ...op.brIf(1));
  b.push(
    ...op.get(P.ptr),
    ...op.get(L.i),
    ...op.add,
    ...v.load,
    ...(f64 ? v.f64Abs : v.f32Abs),
    ...op.get(L.target),
    ...(f64 ? v.f64Eq : v.f32Eq),
    ...v.anyTrue,
  );
  b.push(0x04, 0x40, ...op.get(L.i), 0x0f, ...op.end); // if (any) return i
  b.push(...op.get(L.i), ...op.i32(16), ...op.add, ...op.set(L.i), ...op.br(0), ...op.end, ...op.end);
  b.push(...op.i32(-1), ...op.end);
  const body = [
    ...vec([
      [...uleb(1), I32],
      [...uleb(1), V128],
    ]),
    ...b,
  ];
  return [...uleb(body.length), ...body];
}

let compiled: object | undefined;

function kernelModule(): object {
  if (!compiled) {
    const bytes = [
      0x00,
      0x61,
      0x73,
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00,
      ...section(
        1,
        vec([
          [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([])],
          [0x60, ...vec([[I32], [I32]]), ...vec([[F64]])],
          [0x60, ...vec([[I32], [I32], [I32], [F64]]), ...vec([[I32]])],
        ]),
      ),
      ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, ...uleb(1)]])),
      ...section(3, vec([[0], [0], [1], [1], [2], [2]])),
      ...section(
        7,
        vec([
          [...name("residual32"), 0x00, 0],
          [...name("residual64"), 0x00, 1],
          [...name("maxabs32"), 0x00, 2],
          [...name("maxabs64"), 0x00, 3],
          [...name("find32"), 0x00, 4],
          [...name("find64"), 0x00, 5],
        ]),
      ),
      ...section(
        10,
        vec([
          residualFunction(false),
          residualFunction(true),
          maxAbsFunction(false),
          maxAbsFunction(true),
          findFunction(false),
          findFunction(true),
        ]),
      ),
    ];
    compiled = new wasm.Module(new Uint8Array(bytes));
  }
  return compiled;
}

export type KernelPrecision = "float32" | "float64";

/**
 * Working memory of one OMP encoder: xy, α, the active atoms' Gram rows and their coefficients, each row padded
 * to a multiple of 64 bytes. Bytes: (m + 2)·K′·b + m·b (K′ = K rounded up to 16 or 8 elements, b = 4 or 8).
 */
export class ResidualKernel {
  readonly memory: WasmMemory;
  /** Elements per padded row. */
  readonly stride: number;
  readonly xy: Float32Array | Float64Array;
  readonly alpha: Float32Array | Float64Array;
  readonly coef: Float32Array | Float64Array;
  readonly rows: Float32Array | Float64Array;
  private readonly fn: (out: number, xy: number, rows: number, coef: number, n: number, len: number) => void;
  private readonly maxAbsFn: (ptr: number, len: number) => number;
  private readonly findFn: (ptr: number, start: number, len: number, value: number) => number;
  private readonly ptr: { xy: number; alpha: number; coef: number; rows: number; len: number };

  constructor(
    readonly K: number,
    readonly maxRows: number,
    readonly precision: KernelPrecision,
  ) {
    const b = precision === "float64" ? 8 : 4;
    this.stride = Math.ceil((K * b) / 64) * (64 / b); // rows padded to 64 bytes (the unrolled max-|α| pass)
    const len = this.stride * b;
    const coefBytes = Math.ceil((maxRows * b) / 16) * 16;
    const total = 2 * len + coefBytes + maxRows * len;
    if (total > 4 * 2 ** 30 - 65536) {
      throw new Error(
        `OMP working memory of ${(total / 2 ** 30).toFixed(1)} GB exceeds WebAssembly's 4 GB (K = ${K}, m = ` +
          `${maxRows})`,
      );
    }
    this.memory = new wasm.Memory({ initial: Math.ceil(total / 65536) });
    const inst = new wasm.Instance(kernelModule(), { env: { memory: this.memory } });
    const f64 = precision === "float64";
    this.fn = inst.exports[f64 ? "residual64" : "residual32"] as (
      out: number,
      xy: number,
      rows: number,
      coef: number,
      n: number,
      len: number,
    ) => void;
    this.maxAbsFn = inst.exports[f64 ? "maxabs64" : "maxabs32"] as (ptr: number, len: number) => number;
    this.findFn = inst.exports[f64 ? "find64" : "find32"] as (
      ptr: number,
      start: number,
      len: number,
      value: number,
    ) => number;
    this.ptr = { xy: 0, alpha: len, coef: 2 * len, rows: 2 * len + coefBytes, len };
    const A = precision === "float64" ? Float64Array : Float32Array;
    const buf = this.memory.buffer;
    this.xy = new A(buf, this.ptr.xy, this.stride);
    this.alpha = new A(buf, this.ptr.alpha, this.stride);
    this.coef = new A(buf, this.ptr.coef, maxRows);
    this.rows = new A(buf, this.ptr.rows, maxRows * this.stride);
  }

  /** α = xy − Σ_{j<n} coef[j]·rows[j]. */
  residual(n: number): void {
    this.fn(this.ptr.alpha, this.ptr.xy, this.ptr.rows, this.ptr.coef, n, this.ptr.len);
  }

  /**
   * The largest |α_k| over k < K, the first k reaching it, and whether another k reaches it too (then the caller
   * applies its tie rule). Padding past K is zero and never wins over a non-zero value; all-zero α gives k = 0.
   */
  argmaxAbs(): { index: number; value: number; tied: boolean } {
    const bytes = this.precision === "float64" ? 8 : 4;
    const per = 16 / bytes;
    const { alpha, K } = this;
    const value = this.maxAbsFn(this.ptr.alpha, this.ptr.len);
    const target = this.precision === "float64" ? value : Math.fround(value);
    let index = -1;
    let tied = false;
    // vectors holding the maximum, in order: the first real entry wins; a second one anywhere is a tie
    for (
      let at = this.findFn(this.ptr.alpha, 0, this.ptr.len, value);
      at >= 0 && !tied;
      at = this.findFn(this.ptr.alpha, at + 16, this.ptr.len, value)
    ) {
      for (let q = at / bytes; q < at / bytes + per && q < K; q++) {
        if (Math.abs(alpha[q]) !== target) continue;
        if (index < 0) index = q;
        else {
          tied = true;
          break;
        }
      }
    }
    if (index < 0) throw new Error(`OMP: no finite maximum of |α| (max = ${value})`);
    return { index, value: target, tied };
  }
}
