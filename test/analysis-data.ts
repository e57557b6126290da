/**
 * Test-only "collected data": coefficients s of N random images through the reference attention pool
 * (test/decompose-reference.ts), plus a random classifier and labels, shared by the analysis tests.
 */
import { attentionPoolWeights, coefficientsToEmbedding, Decomposition } from "../src/decompose";
import { predictOne } from "../src/analysis/zeroshot";
import { normalizeRows } from "../src/util/rows";
import { gaussian, poolConfig, poolStateDict, randomFeatures, randomPool, referenceForward, rng } from "./decompose-reference";

export interface Collected {
  N: number;
  S: Float32Array; // N×H×C
  embeddings: Float32Array; // N×d (reference forward)
}

export async function collectReference(seed: number, N: number, C = 64, H = 4, d = 16, K = 9) {
  const pool = randomPool(seed, C, H, d, K);
  const apw = attentionPoolWeights(poolStateDict(pool), poolConfig(pool));
  const dec = await Decomposition.build(apw);
  const sets = (offset: number, n: number): Collected => {
    const S = new Float32Array(n * H * C);
    const embeddings = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const f = referenceForward(pool, randomFeatures(pool, seed * 1000 + offset + i));
      S.set(f.s, i * H * C);
      embeddings.set(f.embedding, i * d);
    }
    return { N: n, S, embeddings };
  };
  return { pool, apw, dec, sets };
}

/** nClasses random unit class vectors; labels = the model's own prediction for 2 of 3 images, random otherwise. */
export function randomTask(dec: Decomposition, set: Collected, nClasses: number, seed: number) {
  const { apw } = dec;
  const g = gaussian(rng(seed));
  const classifier = normalizeRows(Float32Array.from({ length: nClasses * apw.d }, () => g()), apw.d);
  const r = rng(seed + 1);
  const labels = new Int32Array(set.N);
  const HC = apw.H * apw.C;
  for (let i = 0; i < set.N; i++) {
    const own = predictOne(coefficientsToEmbedding(apw, set.S.subarray(i * HC, (i + 1) * HC), dec.bias), classifier);
    labels[i] = i % 3 === 0 ? Math.floor(r() * nClasses) : own;
  }
  return { classifier, labels };
}
