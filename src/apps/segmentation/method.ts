/**
 * The six segmentation methods behind one interface: class rows (centred, normalised; ./classes) → a Segmenter
 * that turns the image graph's outputs for B crops (Z, a) into token logits (B×P×K, class maps on the token grid).
 */
import { ClipNadError } from "../../errors";
import { Decomposition } from "../../decompose/decomposition";
import { AttentionPoolWeights } from "../../decompose/weights";
import { PairFactor, PairLogits, PairSelection, defaultPairCount, defaultPairSigns, selectPairs } from "./pairs";
import { maskclipTokenLogits } from "./maskclip";
import { selfSelfTokenLogits } from "./selfself";
import { transpose } from "../../util/rows";
import { SEGMENTATION_METHODS, SegmentationMethod } from "./names";

export function parseMethod(text: string): SegmentationMethod {
  if ((SEGMENTATION_METHODS as readonly string[]).includes(text)) return text as SegmentationMethod;
  throw new ClipNadError(`unknown segmentation method '${text}' (known: ${SEGMENTATION_METHODS.join(", ")})`);
}

/** The three methods that select pairs per class. */
export function usesPairs(method: SegmentationMethod): boolean {
  return method === "pairs" || method === "neurons" || method === "heads";
}

/** What a segmenter needs of a model (a ClipModel has it). */
export interface SegmentationModel {
  readonly attentionPool: AttentionPoolWeights;
  decomposition(): Promise<Decomposition>;
}

export interface SegmenterOptions {
  method: SegmentationMethod;
  /** P×d class rows, centred over the classes and normalised (prepareClassEmbeddings). */
  classEmbeddings: Float32Array;
  /** Pairs per class (pair methods; default defaultPairCount(H, C): 20,000 for RN50x16). */
  k?: number;
  /** Sign of every pair's first PC, H×C (default +1; a collection's majority signs: pairPCAFromCollection). */
  signs?: Int8Array;
}

export interface Segmenter {
  readonly method: SegmentationMethod;
  /** Classes. */
  readonly P: number;
  /** Token grid side (K = grid²). */
  readonly grid: number;
  /** The pairs each class uses (pair methods). */
  readonly selection?: PairSelection;
  /** Token logits B×P×K for B crops: Z (B×C×K) and a (B×H×(K+1)) from the image graph. */
  tokenLogits(Z: Float32Array, a: Float32Array, B: number): Promise<Float32Array>;
}

export async function createSegmenter(model: SegmentationModel, opts: SegmenterOptions): Promise<Segmenter> {
  const apw = model.attentionPool;
  const { d, K, H, C } = apw;
  const T = opts.classEmbeddings;
  if (T.length === 0 || T.length % d !== 0)
    throw new ClipNadError(`class embeddings must be P×${d} rows, got ${T.length} values`);
  const P = T.length / d;
  const grid = Math.round(Math.sqrt(K));
  if (grid * grid !== K) throw new ClipNadError(`the token grid must be square, K = ${K}`);
  const Tt = transpose(T, P, d);
  const method = opts.method;
  if (usesPairs(method)) {
    const dec = await model.decomposition();
    const selection = selectPairs(dec, T, {
      k: opts.k ?? defaultPairCount(H, C),
      sign: opts.signs ?? defaultPairSigns(H, C),
    });
    const factor: PairFactor = method === "pairs" ? "product" : method === "neurons" ? "neurons" : "heads";
    const logits = new PairLogits(factor, selection, grid);
    return { method, P, grid, selection, tokenLogits: (Z, a, B) => logits.tokenLogits(dec, Z, a, B, T) };
  }
  if (opts.k !== undefined) throw new ClipNadError(`k (pairs per class) applies to the pair methods, not '${method}'`);
  if (method === "selfself" && !apw.query)
    throw new ClipNadError("self-self attention needs the attention pool's q/k projections (a loaded model has them)");
  return {
    method,
    P,
    grid,
    tokenLogits: (Z, _a, B) =>
      method === "selfself"
        ? selfSelfTokenLogits(apw, Z, B, Tt, P)
        : maskclipTokenLogits(apw, Z, B, Tt, P, { withPositional: method === "maskclip+pos" }),
  };
}
