import { ClipNadError } from "../errors";
import { ResidualKernel } from "./ompKernel";

/**
 * One signal's orthogonal matching pursuit on a precomputed Gram matrix, exactly sklearn's `_gram_omp`
 * (n_nonzero_coefs = m, tol = None); the algorithm and its precision rules are described in src/analysis/omp.ts.
 * No onnxruntime here: worker threads (ompPool.ts) load this module.
 */

export type OmpPrecision = "float32" | "float64";

/** np.finfo(dtype).eps — sklearn's `min_float`. */
export const OMP_EPS: Record<OmpPrecision, number> = { float32: 2 ** -23, float64: 2 ** -52 };

/** Why one signal's pursuit ended. */
export type OmpStop = "complete" | "repeated-atom" | "small-correlation" | "dependent-atom";

/** The stop reasons in the order of SparseCodes.stops codes. */
export const OMP_STOPS: readonly OmpStop[] = ["complete", "repeated-atom", "small-correlation", "dependent-atom"];

/** The Gram matrix of a dictionary, K×K row-major, in the precision the pursuit runs in. */
export interface OmpGram {
  K: number;
  precision: OmpPrecision;
  data: Float32Array | Float64Array;
}

/**
 * One signal's pursuit on a shared Gram matrix (sklearn `_gram_omp` with n_nonzero_coefs = m, tol = None).
 * Reusable across signals; holds O(m·K) working memory (WebAssembly).
 */
export class OmpEncoder {
  readonly K: number;
  private readonly kernel: ResidualKernel;
  private readonly eps: number;
  private readonly L: Float64Array;
  private readonly w: Float64Array;
  private readonly xyActive: Float64Array;
  private readonly y: Float64Array;
  private readonly gamma: Float64Array;

  constructor(
    readonly gram: OmpGram,
    readonly m: number,
  ) {
    this.K = gram.K;
    if (!Number.isInteger(m) || m < 1)
      throw new ClipNadError(`the number of non-zero coefficients must be a positive integer, got ${m}`);
    if (m > this.K) throw new ClipNadError(`cannot select ${m} atoms from a dictionary of ${this.K}`);
    this.kernel = new ResidualKernel(this.K, m, gram.precision);
    this.eps = OMP_EPS[gram.precision];
    this.L = new Float64Array(m * m);
    this.w = new Float64Array(m);
    this.xyActive = new Float64Array(m);
    this.y = new Float64Array(m);
    this.gamma = new Float64Array(m);
  }

  /**
   * Encode one signal from its correlations with the atoms, xy = D·x (K values). Writes the chosen atoms (in
   * selection order) and their least-squares coefficients to `indices`/`coefs`; returns how many and why it ended.
   */
  encode(xy: ArrayLike<number>, indices: Int32Array, coefs: Float64Array): { n: number; stop: OmpStop } {
    const { K, m, L, w, xyActive, y, gamma, eps } = this;
    const G = this.gram.data;
    const f32 = this.gram.precision === "float32";
    const kern = this.kernel;
    const alpha = kern.alpha;
    const stride = kern.stride;
    kern.xy.set(xy as ArrayLike<number>);
    kern.residual(0); // α = xy
    // sklearn swaps Gram rows/columns in place, so ties go to the first index in the swapped order; the swaps only
    // touch positions < n and the positions the chosen atoms came from, so keep those as maps.
    const positionOf = new Map<number, number>();
    const atomAt = new Map<number, number>();
    let n = 0;
    for (;;) {
      const top = kern.argmaxAbs();
      let lam = top.index;
      const best = top.value;
      if (top.tied) {
        let bestPos = positionOf.get(lam) ?? lam;
        for (let k = 0; k < K; k++) {
          if (Math.abs(alpha[k]) !== best) continue;
          const p = positionOf.get(k) ?? k;
          if (p < bestPos) {
            bestPos = p;
            lam = k;
          }
        }
      }
      const lamPos = positionOf.get(lam) ?? lam;
      if (lamPos < n) return this.finish(n, indices, coefs, "repeated-atom");
      const a2 = alpha[lam] * alpha[lam];
      if ((f32 ? Math.fround(a2) : a2) < eps) return this.finish(n, indices, coefs, "small-correlation");
      const row = lam * K;
      if (n > 0) {
        for (let j = 0; j < n; j++) w[j] = G[row + indices[j]];
        for (let j = 0; j < n; j++) {
          let s = w[j];
          for (let q = 0; q < j; q++) s -= L[j * m + q] * w[q];
          w[j] = s / L[j * m + j];
        }
        let v = 0;
        for (let j = 0; j < n; j++) v += w[j] * w[j];
        const Lkk = G[row + lam] - v;
        if (Lkk <= eps) return this.finish(n, indices, coefs, "dependent-atom");
        for (let j = 0; j < n; j++) L[n * m + j] = w[j];
        L[n * m + n] = Math.sqrt(Lkk);
      } else {
        L[0] = Math.sqrt(G[row + lam]);
      }
      const displaced = atomAt.get(n) ?? n;
      atomAt.set(n, lam);
      atomAt.set(lamPos, displaced);
      positionOf.set(lam, n);
      positionOf.set(displaced, lamPos);
      indices[n] = lam;
      xyActive[n] = kern.xy[lam];
      n++;
      // γ: L·Lᵀ γ = xy_I (forward, then backward substitution)
      for (let j = 0; j < n; j++) {
        let s = xyActive[j];
        for (let q = 0; q < j; q++) s -= L[j * m + q] * y[q];
        y[j] = s / L[j * m + j];
      }
      for (let j = n - 1; j >= 0; j--) {
        let s = y[j];
        for (let q = j + 1; q < n; q++) s -= L[q * m + j] * gamma[q];
        gamma[j] = s / L[j * m + j];
      }
      kern.rows.set(G.subarray(row, row + K), (n - 1) * stride);
      for (let j = 0; j < n; j++) kern.coef[j] = gamma[j];
      if (n === m) return this.finish(n, indices, coefs, "complete");
      kern.residual(n); // α = xy − G_{:,I} γ
    }
  }

  private finish(n: number, indices: Int32Array, coefs: Float64Array, stop: OmpStop): { n: number; stop: OmpStop } {
    for (let j = 0; j < n; j++)
      coefs[j] = this.gram.precision === "float32" ? Math.fround(this.gamma[j]) : this.gamma[j];
    return { n, stop };
  }
}
