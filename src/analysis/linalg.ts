import { symmetricEigenQL } from "./tridiag";

/**
 * Small exact linear algebra for the PCA procedure (paper.md §A.4): the right singular vectors of a k×d
 * matrix (k = 50 top images) via the eigen-decomposition of its k×k Gram matrix (tridiagonal QL, or Jacobi), and
 * power iteration on XᵀX for a single first PC. Float64 throughout.
 */

export interface SymmetricEigen {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** Eigenvectors as rows (vectors[i*n .. i*n+n] belongs to values[i]), unit norm. */
  vectors: Float64Array;
}

/** Eigen-decomposition of a symmetric n×n matrix (row-major; not modified): Householder + implicit QL. */
export function symmetricEigen(A: ArrayLike<number>, n: number): SymmetricEigen {
  return symmetricEigenQL(A, n);
}

/** Cyclic Jacobi eigen-decomposition (slower; kept as an independent check of symmetricEigen). */
export function symmetricEigenJacobi(A: ArrayLike<number>, n: number, maxSweeps = 100): SymmetricEigen {
  const a = Float64Array.from(A as ArrayLike<number>);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i] * a[i];
  scale = Math.sqrt(scale);
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (Math.sqrt(off) <= 1e-15 * scale || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) <= 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p];
          const vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x] || x - y);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((col, i) => {
    values[i] = a[col * n + col];
    for (let k = 0; k < n; k++) vectors[i * n + k] = V[k * n + col];
  });
  return { values, vectors };
}

export interface SVDTop {
  /** Singular values, descending (k of them). */
  singular: Float64Array;
  /** Right singular vectors as rows (k×cols). */
  right: Float64Array;
  /** Left singular vectors as rows (k×rows). */
  left: Float64Array;
}

/**
 * Top-k singular triplets of a rows×cols matrix X (row-major) through the rows×rows Gram X Xᵀ.
 * Suited to rows ≤ ~100 (the 50 top images); zero singular values give zero right vectors.
 */
export function topSingular(X: ArrayLike<number>, rows: number, cols: number, k: number): SVDTop {
  const G = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = i; j < rows; j++) {
      let acc = 0;
      for (let c = 0; c < cols; c++) acc += X[i * cols + c] * X[j * cols + c];
      G[i * rows + j] = acc;
      G[j * rows + i] = acc;
    }
  }
  return singularFromGram(G, rows, k, (u, out) => {
    for (let i = 0; i < rows; i++) {
      if (u[i] === 0) continue;
      for (let c = 0; c < cols; c++) out[c] += u[i] * X[i * cols + c];
    }
  }, cols);
}

/**
 * Given the Gram G = X Xᵀ (rows×rows) and a way to apply Xᵀ to a left vector, return the top-k triplets:
 * right_k = Xᵀ u_k / σ_k. Used with a factored X (neurons: X = D W) so X itself is never formed.
 */
export function singularFromGram(
  G: Float64Array,
  rows: number,
  k: number,
  applyXt: (u: Float64Array, out: Float64Array) => void,
  cols: number,
): SVDTop {
  const eig = symmetricEigen(G, rows);
  const kk = Math.min(k, rows);
  const singular = new Float64Array(k);
  const right = new Float64Array(k * cols);
  const left = new Float64Array(k * rows);
  const top = eig.values[0] > 0 ? eig.values[0] : 0;
  const u = new Float64Array(rows);
  const out = new Float64Array(cols);
  for (let i = 0; i < kk; i++) {
    const lam = eig.values[i];
    if (!(lam > top * 1e-24) || lam <= 0) continue; // numerically zero: leave zeros
    const sigma = Math.sqrt(lam);
    singular[i] = sigma;
    for (let r = 0; r < rows; r++) u[r] = eig.vectors[i * rows + r];
    left.set(u, i * rows);
    out.fill(0);
    applyXt(u, out);
    for (let c = 0; c < cols; c++) right[i * cols + c] = out[c] / sigma;
  }
  return { singular, right, left };
}

/** First right singular vector of X (rows×cols) by power iteration on XᵀX, started from X's largest row. */
export function firstRightSingular(X: ArrayLike<number>, rows: number, cols: number, tol = 1e-13, maxIter = 1000): Float64Array {
  let best = -1;
  let bestNorm = 0;
  for (let i = 0; i < rows; i++) {
    let nn = 0;
    for (let c = 0; c < cols; c++) nn += X[i * cols + c] ** 2;
    if (nn > bestNorm) { bestNorm = nn; best = i; }
  }
  const v = new Float64Array(cols);
  if (best < 0) return v;
  for (let c = 0; c < cols; c++) v[c] = X[best * cols + c] / Math.sqrt(bestNorm);
  const xv = new Float64Array(rows);
  const next = new Float64Array(cols);
  for (let it = 0; it < maxIter; it++) {
    for (let i = 0; i < rows; i++) {
      let acc = 0;
      for (let c = 0; c < cols; c++) acc += X[i * cols + c] * v[c];
      xv[i] = acc;
    }
    next.fill(0);
    for (let i = 0; i < rows; i++) for (let c = 0; c < cols; c++) next[c] += xv[i] * X[i * cols + c];
    let nn = 0;
    for (let c = 0; c < cols; c++) nn += next[c] * next[c];
    nn = Math.sqrt(nn);
    if (nn === 0) return v.fill(0);
    let diff = 0;
    for (let c = 0; c < cols; c++) {
      const nv = next[c] / nn;
      diff += (nv - v[c]) ** 2;
      v[c] = nv;
    }
    if (Math.sqrt(diff) < tol) break;
  }
  return v;
}

/** Sign so that the largest-magnitude component (first on ties) is positive: +1 or −1. */
export function canonicalSign(v: ArrayLike<number>, off = 0, len = v.length - off): number {
  let bi = off;
  for (let i = off; i < off + len; i++) if (Math.abs(v[i]) > Math.abs(v[bi])) bi = i;
  return v[bi] < 0 ? -1 : 1;
}
