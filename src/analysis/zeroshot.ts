import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";

/**
 * Zero-shot classification (paper.md §A.5, §A.8): each class name is embedded with the 80 OpenAI ImageNet
 * templates; each template embedding is L2-normalised, the mean is taken and normalised again.
 * Prediction = argmax_c ⟨M/|M|, T_c⟩ (the ×100 logit scale and softmax do not change the argmax).
 */

/** Embeds texts; returns texts.length × d un-normalised embeddings (e.g. `(t) => encodeTexts(model, t)`). */
export type TextEncoder = (texts: string[]) => Promise<Float32Array>;

export const DEFAULT_TEMPLATES_PATH = path.join(__dirname, "..", "..", "assets", "text", "text_templates.json");

/** The 80 OpenAI ImageNet templates ("a bad photo of a {}.", …) from assets/text/text_templates.json. */
export function loadTemplates(file = DEFAULT_TEMPLATES_PATH): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ClipNadError(`cannot read templates: ${(e as Error).message}`, { file });
  }
  const list = Array.isArray(raw) ? raw : (raw as Record<string, unknown>)?.OPENAI_IMAGENET_TEMPLATES;
  if (!Array.isArray(list) || list.length === 0 || !list.every((t) => typeof t === "string" && t.includes("{}"))) {
    throw new ClipNadError("expected a list of templates containing '{}'", { file, key: "OPENAI_IMAGENET_TEMPLATES" });
  }
  return list as string[];
}

export function fillTemplate(template: string, name: string): string {
  return template.split("{}").join(name);
}

/** Normalise each of the rows of X (rows×d) to unit L2 norm, in place; zero rows stay zero. */
export function normalizeRows(X: Float32Array, d: number): Float32Array {
  for (let o = 0; o < X.length; o += d) {
    let nn = 0;
    for (let j = 0; j < d; j++) nn += X[o + j] * X[o + j];
    const f = nn > 0 ? 1 / Math.sqrt(nn) : 0;
    for (let j = 0; j < d; j++) X[o + j] *= f;
  }
  return X;
}

export interface ClassifierOptions {
  templates?: string[];
  onProgress?: (done: number, total: number) => void;
}

/** Class embedding matrix (classes × d, unit rows): per class, normalise each template embedding, mean, normalise. */
export async function zeroShotClassifier(classNames: string[], encode: TextEncoder, opts: ClassifierOptions = {}): Promise<Float32Array> {
  const templates = opts.templates ?? loadTemplates();
  if (classNames.length === 0) throw new ClipNadError("zero-shot classifier: no class names");
  let out: Float32Array | undefined;
  let d = 0;
  for (let c = 0; c < classNames.length; c++) {
    const texts = templates.map((t) => fillTemplate(t, classNames[c]));
    const emb = await encode(texts);
    if (!d) {
      d = emb.length / texts.length;
      if (!Number.isInteger(d) || d < 1) throw new ClipNadError(`text encoder returned ${emb.length} values for ${texts.length} texts`);
      out = new Float32Array(classNames.length * d);
    }
    if (emb.length !== texts.length * d) throw new ClipNadError(`text encoder returned ${emb.length} values for ${texts.length} texts (d=${d})`);
    normalizeRows(emb, d);
    const mean = new Float64Array(d);
    for (let t = 0; t < texts.length; t++) for (let j = 0; j < d; j++) mean[j] += emb[t * d + j] / texts.length;
    for (let j = 0; j < d; j++) out![c * d + j] = mean[j];
    opts.onProgress?.(c + 1, classNames.length);
  }
  return normalizeRows(out!, d);
}

/** Cosine logits of one embedding (d) against a unit-row classifier (classes × d) written into `out`. */
export function cosineLogits(embedding: ArrayLike<number>, classifier: Float32Array, out?: Float64Array): Float64Array {
  const d = embedding.length;
  const nC = classifier.length / d;
  const res = out ?? new Float64Array(nC);
  let nn = 0;
  for (let j = 0; j < d; j++) nn += embedding[j] * embedding[j];
  const f = nn > 0 ? 1 / Math.sqrt(nn) : 0;
  for (let c = 0; c < nC; c++) {
    let acc = 0;
    for (let j = 0; j < d; j++) acc += classifier[c * d + j] * embedding[j];
    res[c] = acc * f;
  }
  return res;
}

/** argmax_c of the cosine logits (first class on ties). */
export function predictOne(embedding: ArrayLike<number>, classifier: Float32Array, scratch?: Float64Array): number {
  const l = cosineLogits(embedding, classifier, scratch);
  let best = 0;
  for (let c = 1; c < l.length; c++) if (l[c] > l[best]) best = c;
  return best;
}

/** Predictions for N embeddings (N×d). */
export function predict(embeddings: Float32Array, classifier: Float32Array, d: number): Int32Array {
  const N = embeddings.length / d;
  const out = new Int32Array(N);
  const scratch = new Float64Array(classifier.length / d);
  for (let i = 0; i < N; i++) out[i] = predictOne(embeddings.subarray(i * d, (i + 1) * d), classifier, scratch);
  return out;
}

/** Fraction of predictions equal to labels (labels < 0 = unlabelled, skipped). */
export function accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predictions.length !== labels.length) throw new ClipNadError(`accuracy: ${predictions.length} predictions vs ${labels.length} labels`);
  let n = 0;
  let ok = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) continue;
    n++;
    if (predictions[i] === labels[i]) ok++;
  }
  return n ? ok / n : NaN;
}
