/**
 * A deterministic synthetic BrowserSource: random pair directions, two scores, hash-based "text embeddings" and
 * generated thumbnails. For tests of the browser and for RN50x16-sized (48 × 3072) latency measurements without
 * a model; a real browser uses browserSource.ts.
 */
import sharp from "sharp";
import { BrowserSource, SourceImage } from "./backend";
import { normalizeRows, rowCosines } from "../util/rows";
import { mulberry32 as rng } from "../toyworld/random";


function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Deterministic unit "embedding" of a text (the same text always maps to the same vector). */
export function hashEmbedding(text: string, dim: number): Float32Array {
  const r = rng(hashString(text.trim().toLowerCase()));
  const v = new Float32Array(dim);
  for (let j = 0; j < dim; j++) v[j] = r() * 2 - 1;
  return normalizeRows(v, dim);
}

export const SYNTHETIC_WORDS = [
  "yellow", "butterfly", "dog", "red", "circle", "stripes", "water", "<img src=x onerror=alert(1)>", "sky", "tree",
  "car", "blue", "green", "cat", "star", "square", "&amp; ampersand", "night", "grass", "face",
];

export interface SyntheticOptions {
  heads: number;
  neurons: number;
  dim: number;
  seed?: number;
  /** Number of distinct synthetic images. */
  images?: number;
  /** Top images listed per pair. */
  topK?: number;
  words?: string[];
  title?: string;
  /** Also rank units' own images (BrowserSource.unitImages): the neuron and head views show them. */
  unitImages?: boolean;
  /** Also synthetic text labels (OMP words with signed coefficients, TextSpan texts), from the same words. */
  textLabels?: boolean;
}

/** The synthetic labels: unit u gets words u, u+1, u+2 (mod the list) with coefficients +0.5, −0.25, +0.125. */
function syntheticLabels(words: string[], heads: number, neurons: number): NonNullable<BrowserSource["textLabels"]> {
  const pick = (u: number) =>
    [0, 1, 2].map((j) => ({ word: words[(u + j) % words.length], coefficient: 0.5 * (-0.5) ** j }));
  return {
    pair: (h, n) => pick(h * neurons + n),
    neuron: (n) => pick(7 * n + 1),
    head: (h) => [0, 1].map((j) => ({ text: words[(h * 3 + j) % words.length], fraction: 0.4 / (j + 1) })),
  };
}

export function syntheticSource(opts: SyntheticOptions): BrowserSource {
  const { heads, neurons, dim } = opts;
  const r = rng(opts.seed ?? 1);
  const words = opts.words ?? SYNTHETIC_WORDS;
  const nImages = opts.images ?? 40;
  const topK = opts.topK ?? 16;
  const directions = new Float32Array(heads * neurons * dim);
  for (let i = 0; i < directions.length; i++) directions[i] = (r() * 2 - 1) * (0.2 + (i % 7) / 7);
  // Plant the words' directions in a few pairs so a query finds them (pair p gets word p % words).
  for (let p = 0; p < Math.min(words.length * 3, heads * neurons); p++) {
    const e = hashEmbedding(words[p % words.length], dim);
    for (let j = 0; j < dim; j++) directions[p * 7 % (heads * neurons) * dim + j] += 4 * e[j];
  }
  const norm = new Float32Array(heads * neurons);
  const sparsity = new Float32Array(heads * neurons);
  for (let p = 0; p < norm.length; p++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += directions[p * dim + j] ** 2;
    norm[p] = Math.sqrt(s) * r();
    sparsity[p] = r() ** 3;
  }
  const vocab = normalizeRows(Float32Array.from(words.flatMap((w) => Array.from(hashEmbedding(w, dim)))), dim);
  const thumbs = new Map<string, Promise<Uint8Array>>();
  const unitImages = (unit: { neuron?: number; head?: number }, count: number): SourceImage[] =>
    Array.from({ length: Math.min(count, topK) }, (_, i) => {
      const k = ((unit.neuron ?? 97) * 13 + (unit.head ?? 89) * 5 + i * 11) % nImages;
      return { id: `img-${k}`, path: `synthetic:${k}`, label: `scene ${k}`, value: 2 / (1 + i) };
    });
  return {
    ...(opts.unitImages ? { unitImages, unitImagesRanking: "synthetic norm" } : {}),
    title: opts.title ?? `synthetic ${heads} heads × ${neurons} neurons`,
    heads, neurons, dim, directions,
    pairSimilarity: (t) => rowCosines(directions, t),
    scores: [
      { name: "contribution norm", signed: false, values: norm },
      { name: "sparsity score", signed: false, values: sparsity },
    ],
    topImages(h, n, offset, count) {
      const images: SourceImage[] = [];
      for (let i = offset; i < Math.min(topK, offset + count); i++) {
        const k = (h * 131 + n * 31 + i * 7) % nImages;
        images.push({ id: `img-${k}`, path: `synthetic:${k}`, label: `scene ${k}`, value: 1 / (1 + i) });
      }
      return { total: topK, images };
    },
    async encodeTexts(texts) {
      const out = new Float32Array(texts.length * dim);
      texts.forEach((t, i) => out.set(hashEmbedding(t, dim), i * dim));
      return out;
    },
    async vocabulary() {
      return { words, embeddings: vocab };
    },
    textLabels: opts.textLabels ? syntheticLabels(words, heads, neurons) : undefined,
    thumbnail(p) {
      let t = thumbs.get(p);
      if (!t) {
        const k = Number(p.split(":")[1]);
        const hue = (k * 47) % 360;
        const c = (f: number) => Math.round(255 * (0.5 + 0.5 * Math.cos(((hue + f) * Math.PI) / 180)));
        t = sharp({ create: { width: 32, height: 32, channels: 3, background: { r: c(0), g: c(120), b: c(240) } } })
          .png().toBuffer().then((b) => new Uint8Array(b));
        thumbs.set(p, t);
      }
      return t;
    },
  };
}
