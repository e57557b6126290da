/**
 * The one streaming top-k of clip-nad: per unit (pair, neuron, head, …) the k best rows by a score, kept as a
 * bounded min-heap in flat typed arrays (memory units·k, never units·N).
 *
 * Tie rule (everywhere in clip-nad): higher score first; among equal scores the lower row (index) first. Results
 * therefore do not depend on the order rows are offered in. NaN scores never rank.
 */
export class TopK {
  readonly score: Float64Array;
  readonly row: Int32Array;
  readonly aux: Float64Array;
  readonly count: Int32Array;

  constructor(readonly units: number, readonly k: number) {
    this.score = new Float64Array(units * k);
    this.row = new Int32Array(units * k);
    this.aux = new Float64Array(units * k);
    this.count = new Int32Array(units);
  }

  /** True if (a, ra) ranks below (b, rb): smaller score, or equal score and later row. */
  private static worse(a: number, ra: number, b: number, rb: number): boolean {
    return a < b || (a === b && ra > rb);
  }

  /** Would (score, row) enter unit u's list? (Cheap pre-check for hot loops.) */
  accepts(u: number, score: number, row: number): boolean {
    if (this.count[u] < this.k) return score === score;
    const root = u * this.k;
    return TopK.worse(this.score[root], this.row[root], score, row);
  }

  /** Offer `row` with `score` (and an auxiliary value kept alongside, e.g. the signed s − s̄) to unit `u`. */
  offer(u: number, score: number, row: number, aux = 0): void {
    if (!(score === score)) return;
    const k = this.k;
    if (k === 0) return;
    const base = u * k;
    const n = this.count[u];
    const S = this.score, R = this.row, A = this.aux;
    if (n < k) {
      let i = n;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!TopK.worse(score, row, S[base + p], R[base + p])) break;
        S[base + i] = S[base + p]; R[base + i] = R[base + p]; A[base + i] = A[base + p];
        i = p;
      }
      S[base + i] = score; R[base + i] = row; A[base + i] = aux;
      this.count[u] = n + 1;
      return;
    }
    if (!TopK.worse(S[base], R[base], score, row)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= k) break;
      let c = l;
      const r = l + 1;
      if (r < k && TopK.worse(S[base + r], R[base + r], S[base + l], R[base + l])) c = r;
      if (!TopK.worse(S[base + c], R[base + c], score, row)) break;
      S[base + i] = S[base + c]; R[base + i] = R[base + c]; A[base + i] = A[base + c];
      i = c;
    }
    S[base + i] = score; R[base + i] = row; A[base + i] = aux;
  }

  /**
   * Sorted lists, `kOut` columns per unit (default k): rows, scores (times `scale[u]` when given, e.g. |w| for
   * pairs, before rounding to float32) and aux values. Slots past a unit's count hold row −1, score NaN.
   */
  result(kOut = this.k, scale?: ArrayLike<number>): { rows: Int32Array; scores: Float32Array; aux: Float32Array } {
    const rows = new Int32Array(this.units * kOut).fill(-1);
    const scores = new Float32Array(this.units * kOut).fill(NaN);
    const aux = new Float32Array(this.units * kOut);
    const order: number[] = [];
    const S = this.score, R = this.row;
    for (let u = 0; u < this.units; u++) {
      const base = u * this.k;
      const n = this.count[u];
      order.length = 0;
      for (let j = 0; j < n; j++) order.push(j);
      order.sort((a, b) => (S[base + b] - S[base + a]) || (R[base + a] - R[base + b]));
      const m = scale ? scale[u] : 1;
      for (let j = 0; j < kOut && j < n; j++) {
        const e = base + order[j];
        rows[u * kOut + j] = R[e];
        scores[u * kOut + j] = S[e] * m;
        aux[u * kOut + j] = this.aux[e];
      }
    }
    return { rows, scores, aux };
  }
}

/** Indices of the k largest values, best first, by the tie rule above (NaN skipped). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  if (!(k > 0)) return [];
  const top = new TopK(1, Math.min(k, values.length));
  for (let i = 0; i < values.length; i++) if (top.accepts(0, values[i], i)) top.offer(0, values[i], i);
  return Array.from(top.result().rows).filter((r) => r >= 0);
}
