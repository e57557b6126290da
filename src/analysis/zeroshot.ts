import { ClipNadError } from "../errors";
import { TextEncoder, templateEmbeddings } from "../text/templates";

/**
 * Zero-shot classification (paper.md §A.5, §A.8): each class name is embedded with the 80 OpenAI ImageNet
 * templates; each template embedding is L2-normalised, the mean is taken and normalised again.
 * Prediction = argmax_c ⟨M/|M|, T_c⟩ (the ×100 logit scale and softmax do not change the argmax).
 */

export { TextEncoder } from "../text/templates";

export interface ClassifierOptions {
  templates?: string[];
  onProgress?: (done: number, total: number) => void;
}

/** Class embedding matrix (classes × d, unit rows): each class name embedded with the templates (see text/templates). */
export function zeroShotClassifier(classNames: string[], encode: TextEncoder, opts: ClassifierOptions = {}): Promise<Float32Array> {
  if (classNames.length === 0) throw new ClipNadError("zero-shot classifier: no class names");
  return templateEmbeddings(classNames, encode, opts);
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
