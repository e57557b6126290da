/**
 * Top-k rows per unit (pair, neuron or head) by a score, kept as one bounded min-heap per unit in flat typed
 * arrays: memory units·k, never units·N. Order-independent result: entries are ranked by (score desc, row asc),
 * so any feeding order gives the same k rows; feeding rows in increasing order also never displaces an equal
 * score (the earlier row wins the tie).
 */
export class TopKTracker {
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

  /** Offer row `r` with `score` (and an auxiliary value kept alongside, e.g. the signed s−s̄) to unit `u`. */
  offer(u: number, score: number, r: number, aux = 0): void {
    if (!(score === score)) return; // NaN never ranks
    const k = this.k;
    if (k === 0) return;
    const base = u * k;
    const n = this.count[u];
    const S = this.score, R = this.row, A = this.aux;
    if (n < k) {
      // sift up from the end
      let i = n;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!TopKTracker.worse(score, r, S[base + p], R[base + p])) break;
        S[base + i] = S[base + p]; R[base + i] = R[base + p]; A[base + i] = A[base + p];
        i = p;
      }
      S[base + i] = score; R[base + i] = r; A[base + i] = aux;
      this.count[u] = n + 1;
      return;
    }
    if (!TopKTracker.worse(S[base], R[base], score, r)) return; // not better than the current worst
    // replace the root and sift down
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= k) break;
      let c = l;
      const rr = l + 1;
      if (rr < k && TopKTracker.worse(S[base + rr], R[base + rr], S[base + l], R[base + l])) c = rr;
      if (!TopKTracker.worse(S[base + c], R[base + c], score, r)) break;
      S[base + i] = S[base + c]; R[base + i] = R[base + c]; A[base + i] = A[base + c];
      i = c;
    }
    S[base + i] = score; R[base + i] = r; A[base + i] = aux;
  }

  /**
   * Sorted results (score desc, row asc), k' = min(k, smallest count) columns per unit. Scores are multiplied by
   * `scale[u]` (e.g. |w| for pairs) before rounding to float32.
   */
  result(kOut: number, scale?: Float32Array): { rows: Int32Array; scores: Float32Array; aux: Float32Array } {
    const rows = new Int32Array(this.units * kOut);
    const scores = new Float32Array(this.units * kOut);
    const aux = new Float32Array(this.units * kOut);
    const order: number[] = [];
    for (let u = 0; u < this.units; u++) {
      const base = u * this.k;
      const n = this.count[u];
      order.length = 0;
      for (let j = 0; j < n; j++) order.push(j);
      const S = this.score, R = this.row;
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
