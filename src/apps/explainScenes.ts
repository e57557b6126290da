import { ClipModel } from "../clip/types";
import { preprocessRGB } from "../clip/preprocess";
import { encodeTexts } from "../clip/encode";
import { coefficientsToEmbedding, Decomposition } from "../decompose";
import { predictOne, zeroShotClassifier } from "../analysis/zeroshot";
import { normalizeRows } from "../util/rows";
import { matchWords } from "../text/words";
import { normalizeDictionary } from "../text/dictionary";
import { sparseEncode, topAtoms } from "../analysis/omp";
import { ATTRIBUTES, COLOURS, PATTERNS, SHAPES, SIZES, TEXTURES, generateScene, Scene, toyPromptTemplates } from "../toyworld";

/**
 * "What is this image made of?" for toy-world scenes: decompose each scene's embedding into neuron-head pairs,
 * rank the pairs by how much they move the embedding away from the average scene (along the scene's own
 * embedding direction), and name each pair by the vocabulary words whose text embeddings best match its
 * direction ±w/|w| and by its sparse text decomposition (OMP over the vocabulary, normalised as the paper's
 * dictionary: signed coefficients). This is the demo a researcher sees first (`clip-nad demo`).
 */

/** One neuron-head pair's part in a scene. */
export interface PairInScene {
  neuron: number;
  head: number;
  /** (r^{n,h}(I) − μ^{n,h}) · ê(I): how far this pair pushes the embedding along its own direction. */
  contribution: number;
  /** contribution / Σ over all pairs (= (M − M̄)·ê). */
  share: number;
  /** s − s̄: the sign says whether the pair is more (+) or less (−) active than on an average scene. */
  coefficientShift: number;
  /** Vocabulary words closest to sign·w/|w|, with cosine. */
  words: { word: string; cosine: number }[];
  /** sign·w/|w| as a sparse signed sum of the vocabulary's (normalised) text embeddings: largest |γ| first. */
  ompWords: { word: string; coefficient: number }[];
}

export interface SceneExplanation {
  index: number;
  caption: string;
  /** Zero-shot labels vs the truth, per attribute (dominant object's colour/pattern/size, background colour). */
  zeroShot: { attribute: ZeroShotAttribute; truth: string; predicted: string }[];
  pairs: PairInScene[];
  /** Fraction of the centred embedding (along ê) carried by the listed pairs. */
  topShare: number;
  /** Σ over all pairs of their contributions: equals (M − M̄)·ê, where M̄ is the embedding of the mean coefficients. */
  totalContribution: number;
  /** (M − M̄)·ê computed directly from the embedding (a check of the decomposition: equals totalContribution). */
  embeddingShift: number;
  /** The scene itself (pixels, captions, masks) for callers that save or show it. */
  scene: Scene;
}

/** Attributes the demo classifies zero-shot (the toy model does not tell shapes apart: see assets/toy/MODEL_CARD.md). */
export const DEMO_ATTRIBUTES = ["colour", "pattern", "size", "background"] as const;
export type ZeroShotAttribute = (typeof DEMO_ATTRIBUTES)[number];

export interface ExplainOptions {
  /** Most objects per scene (default 2, so the "dominant object" is clear). */
  maxObjects?: number;
  scenes?: number;
  seed?: number;
  topPairs?: number;
  topWords?: number;
  /** Non-zero OMP coefficients per pair (default 8). */
  ompAtoms?: number;
  /** Scenes (from another seed) whose mean s is the "average scene" reference. */
  referenceScenes?: number;
  onProgress?: (message: string, fraction: number) => void;
}

/** The words pairs are named with: the toy world's own vocabulary plus common-word distractors. */
export function demoVocabulary(): string[] {
  const words = new Set<string>([...SHAPES, ...COLOURS, ...PATTERNS, ...SIZES, ...TEXTURES]);
  for (const w of ["object", "shape", "background", "picture", "thing", "round", "pointed", "lines", "spots", "grid", "bright", "dark"]) words.add(w);
  return [...words];
}

async function forwardScenes(model: ClipModel, scenes: Scene[]) {
  const R = model.config.imageResolution;
  const pixels = new Float32Array(scenes.length * 3 * R * R);
  scenes.forEach((sc, i) => pixels.set(preprocessRGB({ width: sc.width, height: sc.height, data: sc.rgb }, R), i * 3 * R * R));
  return model.encodeImagePixels(pixels, scenes.length);
}

export async function explainToyScenes(model: ClipModel, opts: ExplainOptions = {}): Promise<SceneExplanation[]> {
  const n = opts.scenes ?? 4;
  const seed = opts.seed ?? 7;
  const topPairs = opts.topPairs ?? 5;
  const topWords = opts.topWords ?? 3;
  const refN = opts.referenceScenes ?? 48;
  const progress = opts.onProgress ?? (() => undefined);
  const size = model.config.imageResolution;
  const { visionHeads: H } = model.config;
  const d = model.config.embedDim;

  progress("decomposing weights", 0.05);
  const dec: Decomposition = await model.decomposition();
  const C = dec.apw.C;

  progress("reference scenes", 0.15);
  const sBar = new Float64Array(H * C);
  for (let start = 0; start < refN; start += 16) {
    const batch = Array.from({ length: Math.min(16, refN - start) }, (_, i) => generateScene(seed + 1_000_003, start + i, { size }));
    const fwd = await forwardScenes(model, batch);
    for (let j = 0; j < fwd.coefficients.length; j++) sBar[j % (H * C)] += fwd.coefficients[j] / refN;
  }

  progress("embedding vocabulary and class prompts", 0.4);
  const vocab = demoVocabulary();
  const wordEmb = normalizeRows(await encodeTexts(model, vocab), d);
  const encode = (texts: string[]) => encodeTexts(model, texts, { batchSize: 64 });
  const classifiers: { attribute: ZeroShotAttribute; names: readonly string[]; W: Float32Array }[] = [];
  for (const attribute of DEMO_ATTRIBUTES) {
    const names = ATTRIBUTES[attribute];
    classifiers.push({ attribute, names, W: await zeroShotClassifier([...names], encode, { templates: toyPromptTemplates(attribute) }) });
  }

  const meanEmbedding = coefficientsToEmbedding(dec.apw, sBar);

  progress("decomposing scenes", 0.8);
  const scenes = Array.from({ length: n }, (_, i) => generateScene(seed, i, { size, maxObjects: opts.maxObjects ?? 2 }));
  const fwd = await forwardScenes(model, scenes);
  const out: SceneExplanation[] = [];
  for (let b = 0; b < n; b++) {
    const M = fwd.embedding.subarray(b * d, (b + 1) * d);
    const s = fwd.coefficients.subarray(b * H * C, (b + 1) * H * C);
    const norm = Math.hypot(...M);
    const eHat = Float32Array.from(M, (v) => v / norm);
    // w·ê for every pair at once (O(C·C)), then contribution = (s − s̄)·(w·ê): no H×C×d tensor is formed.
    const { wDotT } = dec.textTables(eHat);
    const contrib = new Float64Array(H * C);
    let total = 0;
    for (let j = 0; j < H * C; j++) {
      contrib[j] = (s[j] - sBar[j]) * wDotT[j];
      total += contrib[j];
    }
    const order = Array.from(contrib.keys()).sort((x, y) => contrib[y] - contrib[x]).slice(0, topPairs);
    const pairs = order.map((j) => {
      const h = Math.floor(j / C), nIdx = j % C;
      const shift = s[j] - sBar[j];
      return {
        neuron: nIdx, head: h, contribution: contrib[j], share: contrib[j] / total, coefficientShift: shift,
        words: nearestWords(dec, h, nIdx, Math.sign(shift) || 1, wordEmb, vocab, topWords),
        ompWords: [] as { word: string; coefficient: number }[],
      };
    });
    out.push({
      index: b,
      caption: scenes[b].captions[0],
      zeroShot: classifiers.map(({ attribute, names, W }) => ({ attribute, truth: scenes[b].labels[attribute], predicted: names[predictOne(M, W)] })),
      pairs,
      topShare: pairs.reduce((acc, p) => acc + p.share, 0),
      totalContribution: total,
      embeddingShift: M.reduce((acc, v, j) => acc + (v - meanEmbedding[j]) * eHat[j], 0),
      scene: scenes[b],
    });
  }
  progress("sparse text decomposition of the pairs", 0.9);
  const listed = out.flatMap((ex) => ex.pairs);
  const signals = new Float32Array(listed.length * d);
  listed.forEach((p, i) => {
    const w = dec.direction(p);
    const f = (Math.sign(p.coefficientShift) || 1) / dec.wNorms[p.head * C + p.neuron];
    for (let j = 0; j < d; j++) signals[i * d + j] = w[j] * f;
  });
  const atoms = normalizeDictionary(wordEmb, vocab.length, d);
  const m = Math.min(opts.ompAtoms ?? 8, vocab.length);
  const codes = await sparseEncode(
    { data: atoms, rows: vocab.length, cols: d },
    { data: signals, rows: listed.length, cols: d },
    { nonzero: m },
  );
  listed.forEach((p, i) => {
    p.ompWords = topAtoms(codes, i, topWords).map((a) => ({ word: vocab[a.atom], coefficient: a.coefficient }));
  });
  progress("done", 1);
  return out;
}

/** The vocabulary words closest to sign·w/|w| of one pair. */
function nearestWords(dec: Decomposition, h: number, n: number, sign: number, wordEmb: Float32Array, vocab: string[], k: number) {
  // matchWords ranks both signs; the scene's sign picks one list.
  return matchWords(dec.direction({ neuron: n, head: h }), wordEmb, vocab, k)
    .filter((m) => m.sign === (sign >= 0 ? 1 : -1))
    .map((m) => ({ word: m.word, cosine: m.cosine }));
}
