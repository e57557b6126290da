/**
 * The wire contract between the neuron-head browser's front end (widgets/neuron-head-browser) and its kernel
 * side (src/browser, wired to comms by kernel-ext/widgets). DOM-free, and only type imports, so both sides import it.
 *
 * Synced model state holds small JSON plus one binary trait (`scores`, names × H × C float32). Everything bulky
 * that the view asks for later (thumbnails, a query's H × C similarity matrix) travels as custom-message buffers:
 * a reply's JSON refers to its buffers by index, never inlines numbers or bytes.
 */

export const BROWSER_MODULE = "clip-nad-widgets";
export const BROWSER_MODEL = "NeuronHeadBrowserModel";
export const BROWSER_VIEW = "NeuronHeadBrowserView";

export type { RankedPair } from "../decompose/units";
export type { WordMatch } from "../text/words";
import type { RankedPair } from "../decompose/units";
import type { WordMatch } from "../text/words";

/** One top image of a pair. `buffer` indexes the reply's buffers (PNG bytes), -1 when there is no thumbnail. */
export interface ImageRef {
  id: string;
  label: string;
  /** What the image was ranked by (from a collection: the centred pair norm |s − s̄|·|w| of this image). */
  value: number;
  buffer: number;
}

/** A word of a unit's sparse text decomposition (OMP) with its signed coefficient γ. */
export interface TextWord {
  word: string;
  coefficient: number;
}

/** A TextSpan text of a head with the fraction of the head's output variance it explains. */
export interface HeadText {
  text: string;
  fraction: number;
}

/** Everything the detail panel shows for one selected pair. */
export interface PairDetail {
  head: number;
  neuron: number;
  /** Value of every score for this pair, by score name. */
  scores: Record<string, number>;
  /** The parent neuron's aggregate (max over heads) of the first score, and its best head. */
  parent: { neuron: number; maxScore: number; bestHead: number };
  words: WordMatch[];
  /** The pair's sparse text decomposition (OMP words, largest |γ| first), when text labels were given. */
  textWords?: TextWord[];
  /** The parent neuron's OMP words. */
  neuronWords?: TextWord[];
  /** The head's TextSpan texts. */
  headTexts?: HeadText[];
  images: ImageRef[];
  totalImages: number;
}

/** One column of the neuron view: a head of the neuron with its top images (the paper's sub-concepts). */
export interface NeuronHeadColumn {
  head: number;
  score: number;
  images: ImageRef[];
}

/**
 * A unit's own top images (a neuron's, or a head's) by the top-image retrieval (src/analysis/topImages), and what
 * they are ranked by, e.g. "raw norm ‖r(I)‖".
 */
export interface UnitImages {
  images: ImageRef[];
  ranking: string;
}

/** One row of the head view: a top neuron of the head with a few images. */
export interface HeadNeuronRow {
  neuron: number;
  score: number;
  images: ImageRef[];
}

export type BrowserRequest =
  | { kind: "select"; id: number; head: number; neuron: number }
  | { kind: "neuron"; id: number; neuron: number }
  | { kind: "head"; id: number; head: number }
  | { kind: "query"; id: number; text: string }
  | { kind: "images"; id: number; head: number; neuron: number; offset: number; count: number };

export type BrowserReply =
  /** `note` says why a detail is partial (e.g. a pair not embedded in a read-only page). */
  | { kind: "pair"; id: number; detail: PairDetail; note?: string }
  /** `own`: the neuron's own top images (its pairs' columns are ranked the same way), when the source has them. */
  | { kind: "neuron"; id: number; neuron: number; heads: NeuronHeadColumn[]; own?: UnitImages; words?: TextWord[] }
  /** `own`: the head's own top images, when the source has them. */
  | { kind: "head"; id: number; head: number; rows: HeadNeuronRow[]; own?: UnitImages; texts?: HeadText[] }
  /** `matrix` indexes the buffer holding the H × C float32 similarity of every pair to the query. */
  | { kind: "ranking"; id: number; text: string; top: RankedPair[]; matrix: number; note?: string }
  | { kind: "images"; id: number; head: number; neuron: number; offset: number; total: number; images: ImageRef[] }
  | { kind: "error"; id: number; message: string };

export type RequestKind = BrowserRequest["kind"];
export const REQUEST_KINDS: readonly RequestKind[] = ["select", "neuron", "head", "query", "images"];

/** Name of the query-similarity score (not part of the synced matrices; it arrives with a ranking reply). */
export const QUERY_SCORE = "query similarity";

/** The offline index: what a read-only page (no kernel) can still show. Thumbnails index `offline_blob` spans. */
export interface OfflineIndex {
  /** Pair details embedded for the top pairs (and all heads of the top neurons). */
  pairs: PairDetail[];
  /** Byte spans [start, length] of each thumbnail inside the offline blob; ImageRef.buffer indexes this list. */
  spans: [number, number][];
  /** Why some requests cannot be answered offline (shown in the status line). */
  note: string;
  /** Every head's TextSpan texts (when text labels were given): the head view offline. */
  heads?: { head: number; texts: HeadText[] }[];
  /** The neuron views of the top neurons and every head's own images, when the source ranks units' images. */
  units?: OfflineUnits;
}

/** Embedded neuron / head views of a read-only page (ImageRef.buffer indexes `OfflineIndex.spans`). */
export interface OfflineUnits {
  ranking: string;
  neurons: { neuron: number; own: ImageRef[]; heads: NeuronHeadColumn[] }[];
  heads: { head: number; own: ImageRef[] }[];
}

/** The synced model state, as the kernel writes it (binary `scores` and `offline_blob` travel as buffers). */
export interface BrowserStateJSON {
  title: string;
  heads: number;
  neurons: number;
  score_names: string[];
  /** Per score: true when values are signed (diverging colour map). */
  score_signed: boolean[];
  score_name: string;
  selected_head: number;
  selected_neuron: number;
  query: string;
  ranking: RankedPair[];
  status: string;
  error: string;
  offline: OfflineIndex;
}
