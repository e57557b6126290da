import { ClipNadError } from "../errors";
import {
  AttentionPoolWeights, NeuronGram, NormKind, Pair, PairNormCoefficients, UnitNormsOrt, UnitSubset, checkHead,
  checkNeuron, checkNormKind, pairIndex, pairNormCoefficients,
} from "../decompose";
import { TopK } from "../util/topk";
import { CoefficientRows, meanCoefficients } from "./rows";

/**
 * Top images per unit by the norm of its contribution (paper.md §A.11, §A.12; Figure 4): heads ‖r^h(I)‖,
 * neurons ‖Σ_h r^{n,h}(I)‖, pairs ‖r^{n,h}(I)‖, raw (bias shares included, as the paper's retrieval) or centred (as
 * the collection's stored top-k), streamed over the stored s in chunks of rows. The norms come from scalars
 * (src/decompose/unitNorms: pairs a x² + b x + e, neurons and heads on onnxruntime); no r is ever formed.
 *
 * Memory: units·k·20 bytes for the top-k (147,456 RN50x16 pairs × 10 → 29 MB) + one chunk of rows (≈ 32 MB) and
 * the onnxruntime buffers of one chunk; independent of N. Cost per image: 3 flops per pair (plus a heap offer for
 * the few that enter), C·(H² + H) for neurons, C·C + H·d·dh for heads.
 */

/** A source of coefficient rows; `chunks` (a Collection has it) streams several rows per read. */
export type CoefficientSource = CoefficientRows & {
  chunks?(rowsPerChunk?: number): Iterable<{ start: number; count: number; data: Float32Array }>;
};

/** What the retrieval needs from the weights: a Decomposition, or the collection's tables (no w needed). */
export interface TopImagesWeights {
  apw: AttentionPoolWeights;
  wNorms: Float32Array;
  neuronGram: NeuronGram;
}

export interface UnitTopImagesOptions {
  /** Images per unit (default 10). */
  k?: number;
  /** "raw" (default; the paper's retrieval) or "centred". */
  norm?: NormKind;
  /** s̄ (H×C) for centred norms; computed with an extra pass when absent. */
  mean?: Float32Array;
  /** Pairs to rank: "all" (default), a list, or [] for none. */
  pairs?: "all" | readonly Pair[];
  neurons?: UnitSubset;
  heads?: UnitSubset;
  /** Rows per chunk (default: about 32 MB of s). */
  rowsPerChunk?: number;
  onProgress?: (done: number, total: number) => void;
}

/** A unit of any level, by name: a pair { neuron, head }, a neuron { neuron } or a head { head }. */
export type Unit = Pair | { neuron: number; head?: undefined } | { head: number; neuron?: undefined };

export function isPair(u: Unit): u is Pair {
  return u.neuron !== undefined && u.head !== undefined;
}

/** "neuron 88 · head 2", "neuron 88", "head 2". */
export function unitName(u: Unit): string {
  if (isPair(u)) return `neuron ${u.neuron} · head ${u.head}`;
  return u.neuron !== undefined ? `neuron ${u.neuron}` : `head ${u.head}`;
}

/** One unit's top images: rows (best first) and their norms. */
export interface UnitTop {
  rows: Int32Array;
  scores: Float32Array;
}

/** One level's lists: `units` (pair indices h·C + n, neurons or heads) × k rows and scores, best first. */
export interface UnitTopTable {
  units: Int32Array;
  k: number;
  /** units×k, −1 past the available rows (N < k). */
  rows: Int32Array;
  scores: Float32Array;
}

/** The result: top-k rows per unit of each level that was asked for. */
export class UnitTopImages {
  private readonly index: { pairs: Map<number, number>; neurons: Map<number, number>; heads: Map<number, number> };

  constructor(
    readonly norm: NormKind,
    readonly k: number,
    readonly N: number,
    readonly H: number,
    readonly C: number,
    readonly pairs: UnitTopTable,
    readonly neurons: UnitTopTable,
    readonly heads: UnitTopTable,
  ) {
    const map = (t: UnitTopTable) => new Map(Array.from(t.units, (u, i) => [u, i] as [number, number]));
    this.index = { pairs: map(pairs), neurons: map(neurons), heads: map(heads) };
  }

  private entry(t: UnitTopTable, i: number | undefined, what: string): UnitTop {
    if (i === undefined) throw new ClipNadError(`the top images of ${what} were not computed (ask for that unit)`);
    const kk = Math.min(t.k, this.N);
    return { rows: t.rows.subarray(i * t.k, i * t.k + kk), scores: t.scores.subarray(i * t.k, i * t.k + kk) };
  }

  pair(pair: Pair): UnitTop {
    const p = pairIndex(this, pair);
    return this.entry(this.pairs, this.index.pairs.get(p), `pair (neuron ${pair.neuron}, head ${pair.head})`);
  }

  neuron(neuron: number): UnitTop {
    const n = checkNeuron(this, neuron);
    return this.entry(this.neurons, this.index.neurons.get(n), `neuron ${n}`);
  }

  head(head: number): UnitTop {
    const h = checkHead(this, head);
    return this.entry(this.heads, this.index.heads.get(h), `head ${h}`);
  }

  /** Whether a unit's list was computed. */
  has(unit: Unit): boolean {
    if (isPair(unit)) {
      const inRange = unit.head >= 0 && unit.head < this.H && unit.neuron >= 0 && unit.neuron < this.C;
      return inRange && this.index.pairs.has(unit.head * this.C + unit.neuron);
    }
    return unit.neuron !== undefined ? this.index.neurons.has(unit.neuron) : this.index.heads.has(unit.head as number);
  }

  /** Any unit's list. */
  of(unit: Unit): UnitTop {
    if (isPair(unit)) return this.pair(unit);
    if (unit.neuron !== undefined) return this.neuron(unit.neuron);
    if (unit.head !== undefined) return this.head(unit.head);
    throw new ClipNadError(`a unit is { neuron }, { head } or { neuron, head }, got ${JSON.stringify(unit)}`);
  }
}

function pairList(pairs: "all" | readonly Pair[], H: number, C: number): Int32Array {
  if (pairs === "all") return Int32Array.from({ length: H * C }, (_, i) => i);
  return Int32Array.from(pairs, (p) => pairIndex({ H, C }, p));
}

/**
 * The streaming state: offer chunks of rows in increasing row order with `add`, then `result()`. Exposed for
 * benchmarks and callers that produce rows themselves; `unitTopImages` drives it over a source.
 */
export class TopImagesAccumulator {
  private readonly pairUnits: Int32Array;
  private readonly pairTop: TopK;
  private readonly neuronTop: TopK;
  private readonly headTop: TopK;
  private readonly mean64: Float64Array | null;
  /** Per pair unit: values of s strictly between these cannot enter its full heap; (+∞, −∞) until it is full. */
  private readonly rejectLo: Float64Array;
  private readonly rejectHi: Float64Array;
  private rowsSeen = 0;

  private constructor(
    readonly H: number,
    readonly C: number,
    readonly k: number,
    readonly norm: NormKind,
    private readonly q: PairNormCoefficients,
    private readonly ort: UnitNormsOrt,
    pairUnits: Int32Array,
    mean: Float32Array | undefined,
  ) {
    this.pairUnits = pairUnits;
    this.pairTop = new TopK(pairUnits.length, k);
    this.neuronTop = new TopK(ort.neurons.length, k);
    this.headTop = new TopK(ort.heads.length, k);
    this.mean64 = mean ? Float64Array.from(mean) : null;
    this.rejectLo = new Float64Array(pairUnits.length).fill(Infinity);
    this.rejectHi = new Float64Array(pairUnits.length).fill(-Infinity);
  }

  static async create(weights: TopImagesWeights, opts: UnitTopImagesOptions): Promise<TopImagesAccumulator> {
    const { H, C } = weights.apw;
    const k = opts.k ?? 10;
    if (!Number.isInteger(k) || k < 1) throw new ClipNadError(`top must be a positive integer, got ${opts.k}`);
    const norm = checkNormKind(opts.norm ?? "raw");
    if (norm === "centred" && (!opts.mean || opts.mean.length !== H * C)) {
      throw new ClipNadError(`centred norms need the mean coefficients s̄ (H×C = ${H * C} values)`);
    }
    const units = pairList(opts.pairs ?? "all", H, C);
    const q = pairNormCoefficients(weights.apw, weights.wNorms, norm);
    const subsets = { neurons: opts.neurons ?? "all", heads: opts.heads ?? "all" };
    const ort = await UnitNormsOrt.create(weights, { norm, mean: opts.mean, ...subsets });
    return new TopImagesAccumulator(H, C, k, norm, q, ort, units, norm === "centred" ? opts.mean : undefined);
  }

  /** Offer `count` rows (count×H×C) whose first row is `start`; rows must come in increasing order. */
  async add(data: Float32Array, start: number, count: number): Promise<void> {
    const HC = this.H * this.C;
    if (data.length < count * HC) {
      throw new ClipNadError(`a chunk of ${count} rows needs ${count * HC} values, got ${data.length}`);
    }
    if (start < this.rowsSeen) {
      throw new ClipNadError(`rows must be offered in increasing order (got ${start} after ${this.rowsSeen})`);
    }
    this.rowsSeen = start + count;
    this.addPairs(data, start, count);
    const rows = count * HC === data.length ? data : data.subarray(0, count * HC);
    const { neuron, head } = await this.ort.run(rows, count);
    const offer = (top: TopK, norms: Float32Array, units: number) => {
      for (let u = 0; u < units; u++) for (let i = 0; i < count; i++) top.offer(u, norms[u * count + i], start + i);
    };
    offer(this.neuronTop, neuron, this.ort.neurons.length);
    offer(this.headTop, head, this.ort.heads.length);
  }

  /**
   * Pair-major over the chunk, so each pair's heap stays in cache for its `count` offers. The heap holds ‖r‖²
   * (same order as ‖r‖); rows arrive in increasing order, so a score equal to the heap's worst loses the tie.
   * Once a pair's heap is full, ‖r‖² ≤ worst holds exactly on an interval of s (the sublevel set of a parabola):
   * a value strictly inside it is rejected with two comparisons, any other is scored exactly.
   */
  private addPairs(s: Float32Array, start: number, count: number): void {
    const HC = this.H * this.C;
    const k = this.k;
    const { a, b, e } = this.q;
    const top = this.pairTop;
    const full = top.count, worst = top.score;
    const units = this.pairUnits, mean = this.mean64, lo = this.rejectLo, hi = this.rejectHi;
    for (let u = 0; u < units.length; u++) {
      const p = units[u];
      const ap = a[p], bp = b[p], ep = e[p], m = mean ? mean[p] : 0;
      const l = lo[u], h = hi[u];
      let offered = false;
      for (let i = 0; i < count; i++) {
        const v = s[i * HC + p];
        if (v > l && v < h) continue;
        const x = v - m;
        const sq = (ap * x + bp) * x + ep; // = pairNormSquared(q, p, x), inlined in the hot loop
        if (full[u] === k && sq <= worst[u * k]) continue;
        top.offer(u, sq, start + i);
        offered = true;
      }
      // The interval only widens as the worst rises: a stale one (within this chunk) rejects less, never wrongly.
      if (offered && full[u] === k) this.updateRejection(u, p, m);
    }
  }

  /**
   * The open interval (lo, hi) of s on which unit u's score cannot enter its full heap. With t = the heap's
   * worst ‖r‖² and q(x) = a x² + b x + e, x = s − s̄ (0 for raw): q ≤ t between the parabola's roots. The
   * interval is shrunk and kept only if q at both ends is below t by more than rounding, so by convexity every
   * value inside would also have been rejected by the exact score; otherwise nothing is rejected early.
   */
  private updateRejection(u: number, p: number, m: number): void {
    const t = this.pairTop.score[u * this.k];
    const a = this.q.a[p], b = this.q.b[p], e = this.q.e[p];
    let l = Infinity, h = -Infinity;
    if (a > 0) {
      const disc = b * b - 4 * a * (e - t);
      if (disc > 0) {
        const r = Math.sqrt(disc);
        const x1 = (-b - r) / (2 * a), x2 = (-b + r) / (2 * a);
        const shrink = 1e-6 * (x2 - x1);
        const l1 = m + x1 + shrink, h1 = m + x2 - shrink;
        if (l1 < h1 && clearlyBelow(a, b, e, l1 - m, t) && clearlyBelow(a, b, e, h1 - m, t)) { l = l1; h = h1; }
      }
    } else if (a === 0 && b === 0 && e <= t) {
      l = -Infinity; // a constant score (w = 0): every later row ties and loses
      h = Infinity;
    }
    this.rejectLo[u] = l;
    this.rejectHi[u] = h;
  }

  /** The lists so far; N = rows offered (slots past N are −1 / NaN). */
  result(): UnitTopImages {
    const N = this.rowsSeen;
    const pairs = this.pairTop.result();
    for (let j = 0; j < pairs.scores.length; j++) pairs.scores[j] = Math.sqrt(Math.max(0, pairs.scores[j]));
    const neurons = this.neuronTop.result();
    const heads = this.headTop.result();
    const table = (units: ArrayLike<number>, r: { rows: Int32Array; scores: Float32Array }): UnitTopTable =>
      ({ units: Int32Array.from(units), k: this.k, rows: r.rows, scores: r.scores });
    return new UnitTopImages(this.norm, this.k, N, this.H, this.C,
      table(this.pairUnits, pairs), table(this.ort.neurons, neurons), table(this.ort.heads, heads));
  }

  release(): Promise<void> {
    return this.ort.release();
  }
}

/** q(x) = a x² + b x + e is below t by more than its rounding error. */
function clearlyBelow(a: number, b: number, e: number, x: number, t: number): boolean {
  const q = (a * x + b) * x + e;
  return q < t - 1e-9 * (Math.abs(t) + a * x * x + Math.abs(b * x) + Math.abs(e));
}

/** Rows per chunk so that one chunk of s stays around 32 MB (the collection's chunking). */
function defaultRowsPerChunk(H: number, C: number): number {
  return Math.max(1, Math.floor((8 * 1024 * 1024) / (H * C)));
}

/** Stream `rows` once and return the top-k images of every unit asked for (see the module comment). */
export async function unitTopImages(
  rows: CoefficientSource, weights: TopImagesWeights, opts: UnitTopImagesOptions = {},
): Promise<UnitTopImages> {
  const { N, H, C } = rows;
  if (weights.apw.H !== H || weights.apw.C !== C) {
    const { H: wh, C: wc } = weights.apw;
    throw new ClipNadError(`the weights are for H×C = ${wh}×${wc}, the coefficients are ${H}×${C}`);
  }
  if (!(N > 0)) throw new ClipNadError("no coefficient rows to rank");
  const norm = checkNormKind(opts.norm ?? "raw");
  const mean = norm === "centred" ? opts.mean ?? meanCoefficients(rows) : undefined;
  const acc = await TopImagesAccumulator.create(weights, { ...opts, norm, mean });
  try {
    const R = opts.rowsPerChunk ?? defaultRowsPerChunk(H, C);
    if (rows.chunks) {
      for (const chunk of rows.chunks(R)) {
        await acc.add(chunk.data, chunk.start, chunk.count);
        opts.onProgress?.(chunk.start + chunk.count, N);
      }
    } else {
      const HC = H * C;
      const buf = new Float32Array(Math.min(R, N) * HC);
      for (let start = 0; start < N; start += R) {
        const count = Math.min(R, N - start);
        for (let i = 0; i < count; i++) buf.set(rows.row(start + i), i * HC);
        await acc.add(buf.subarray(0, count * HC), start, count);
        opts.onProgress?.(start + count, N);
      }
    }
    return acc.result();
  } finally {
    await acc.release();
  }
}
