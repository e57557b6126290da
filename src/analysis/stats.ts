import { ClipNadError } from "../errors";

/**
 * Small statistics for the analyses: Pearson and point-biserial correlation with the two-sided p-value of the
 * t-test on r (df = n − 2), as scipy.stats.pearsonr / pointbiserialr report it. The p-value needs the regularized
 * incomplete beta function: p = I_{df/(df+t²)}(df/2, 1/2), t = r·√(df/(1 − r²)). I_x(a, b) is evaluated with the
 * continued fraction of Numerical Recipes §6.4 (modified Lentz), on the side of the symmetry I_x(a,b) =
 * 1 − I_{1−x}(b,a) where it converges fast; log Γ by the Lanczos approximation (g = 7, 9 terms).
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new ClipNadError(`logGamma: x must be positive, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x); // reflection
  const z = x - 1;
  let acc = LANCZOS[0];
  for (let i = 1; i < 9; i++) acc += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(acc);
}

/** Continued fraction of I_x(a, b) (NR betacf), modified Lentz. */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  const EPS = 1e-16;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) return h;
  }
  throw new ClipNadError(`incomplete beta: the continued fraction did not converge (x=${x}, a=${a}, b=${b})`);
}

/** Regularized incomplete beta I_x(a, b), a, b > 0, 0 ≤ x ≤ 1. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0)) throw new ClipNadError(`incomplete beta: a and b must be positive, got a=${a}, b=${b}`);
  if (!(x >= 0 && x <= 1)) throw new ClipNadError(`incomplete beta: x must be in [0, 1], got ${x}`);
  if (x === 0 || x === 1) return x;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(logFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Two-sided p-value of Student's t with `df` degrees of freedom: P(|T| ≥ |t|). */
export function studentTwoSidedP(t: number, df: number): number {
  if (!(df > 0)) throw new ClipNadError(`t-test: degrees of freedom must be positive, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

export interface Correlation {
  /** Pearson r. */
  r: number;
  /** Two-sided p-value (t-test with n − 2 degrees of freedom). */
  p: number;
  /** Observations. */
  n: number;
}

/** Pearson r of two equally long series, with the two-sided p-value (scipy.stats.pearsonr). Needs n ≥ 3. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>, what = "correlation"): Correlation {
  const n = x.length;
  if (y.length !== n) throw new ClipNadError(`${what}: ${n} values against ${y.length}`);
  if (n < 3) throw new ClipNadError(`${what}: needs at least 3 observations, got ${n}`);
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) {
      throw new ClipNadError(`${what}: value ${i} is not finite (${x[i]}, ${y[i]})`);
    }
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) throw new ClipNadError(`${what}: undefined, one of the two series is constant`);
  const r = Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
  const df = n - 2;
  const t = Math.abs(r) === 1 ? Infinity : r * Math.sqrt(df / ((1 - r) * (1 + r)));
  return { r, p: studentTwoSidedP(t, df), n };
}

/**
 * Point-biserial correlation of a binary label (0/1) with a continuous score: Pearson r of the two
 * (scipy.stats.pointbiserialr). A constant label leaves r undefined (error).
 */
export function pointBiserial(labels: ArrayLike<number>, scores: ArrayLike<number>): Correlation {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) {
      throw new ClipNadError(`point-biserial: label ${i} is ${labels[i]}, expected 0 or 1`);
    }
    positives += labels[i];
  }
  if (positives === 0 || positives === labels.length) {
    throw new ClipNadError(`point-biserial: every label is ${positives ? 1 : 0}; r is undefined for a constant label`);
  }
  return pearson(labels, scores, "point-biserial");
}
