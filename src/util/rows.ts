/** Row-wise helpers for row-major matrices (rows × d) held in flat typed arrays. */

/** The transpose (cols×rows) of a rows×cols matrix. */
export function transpose(m: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

/** Euclidean norm of each d-vector of a rows×d matrix. */
export function rowNorms(m: ArrayLike<number>, d: number): Float32Array {
  const n = Math.floor(m.length / d);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * d; j < (i + 1) * d; j++) s += m[j] * m[j];
    out[i] = Math.sqrt(s);
  }
  return out;
}

/**
 * Scale each row of X (rows×d) to unit L2 norm IN PLACE and return X; zero rows stay zero.
 * For a normalised copy: `normalizeRows(X.slice(), d)`.
 */
export function normalizeRows<T extends Float32Array | Float64Array>(X: T, d: number): T {
  for (let o = 0; o < X.length; o += d) {
    let nn = 0;
    for (let j = 0; j < d; j++) nn += X[o + j] * X[o + j];
    const f = nn > 0 ? 1 / Math.sqrt(nn) : 0;
    for (let j = 0; j < d; j++) X[o + j] *= f;
  }
  return X;
}

/** cos(row_i, v) for every row of a rows×d matrix (0 for zero rows or a zero v). */
export function rowCosines(m: ArrayLike<number>, v: ArrayLike<number>): Float32Array {
  const d = v.length;
  let vn = 0;
  for (let j = 0; j < d; j++) vn += v[j] * v[j];
  vn = Math.sqrt(vn);
  const n = Math.floor(m.length / d);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let dot = 0, mn = 0;
    for (let j = 0; j < d; j++) {
      const x = m[i * d + j];
      dot += x * v[j];
      mn += x * x;
    }
    out[i] = mn > 0 && vn > 0 ? dot / (Math.sqrt(mn) * vn) : 0;
  }
  return out;
}
