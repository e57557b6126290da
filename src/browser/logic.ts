/**
 * Pure logic of the neuron-head browser's kernel side: request validation, top-k selection over all pairs and
 * best-matching words (cosine of ±w with vocabulary embeddings). Query ranking is the source's pairSimilarity.
 * No I/O and no kernel here, so all of it is unit-tested directly.
 */
import { BrowserRequest, RankedPair, REQUEST_KINDS } from "./protocol";
import { topIndices } from "../util/topk";
export { matchWords } from "../text/words";

/** A request the kernel cannot answer; `id` is echoed in the error reply when the message carried one. */
export class BrowserRequestError extends Error {
  readonly id: number;
  constructor(message: string, id: number) {
    super(message);
    this.name = "BrowserRequestError";
    this.id = id;
  }
}

const MAX_QUERY_CHARS = 200;
const MAX_PAGE = 100;

function intField(o: Record<string, unknown>, key: string, lo: number, hiExclusive: number, id: number, what: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isInteger(v)) throw new BrowserRequestError(`'${key}' must be an integer ${what}`, id);
  if (v < lo || v >= hiExclusive) {
    throw new BrowserRequestError(`${key} ${v} is out of range: ${what} must be in [${lo}, ${hiExclusive - 1}]`, id);
  }
  return v;
}

/** Validate a raw custom message from the view against the browser's shape (H heads, C neurons). */
export function parseRequest(raw: unknown, heads: number, neurons: number): BrowserRequest {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new BrowserRequestError("malformed request: expected an object", -1);
  }
  const o = raw as Record<string, unknown>;
  const id = typeof o.id === "number" && Number.isInteger(o.id) ? o.id : -1;
  if (id < 0) throw new BrowserRequestError("malformed request: missing integer 'id'", -1);
  const kind = o.kind;
  if (typeof kind !== "string" || !(REQUEST_KINDS as readonly string[]).includes(kind)) {
    throw new BrowserRequestError(`malformed request: unknown kind ${JSON.stringify(kind)}`, id);
  }
  switch (kind) {
    case "select":
      return {
        kind, id,
        head: intField(o, "head", 0, heads, id, "head index"),
        neuron: intField(o, "neuron", 0, neurons, id, "neuron index"),
      };
    case "neuron":
      return { kind, id, neuron: intField(o, "neuron", 0, neurons, id, "neuron index") };
    case "head":
      return { kind, id, head: intField(o, "head", 0, heads, id, "head index") };
    case "query": {
      const text = o.text;
      if (typeof text !== "string") throw new BrowserRequestError("'text' must be a string", id);
      const trimmed = text.trim();
      if (!trimmed) throw new BrowserRequestError("the query is empty", id);
      if (trimmed.length > MAX_QUERY_CHARS) throw new BrowserRequestError(`the query is longer than ${MAX_QUERY_CHARS} characters`, id);
      return { kind, id, text: trimmed };
    }
    default: // "images"
      return {
        kind: "images", id,
        head: intField(o, "head", 0, heads, id, "head index"),
        neuron: intField(o, "neuron", 0, neurons, id, "neuron index"),
        offset: intField(o, "offset", 0, Number.MAX_SAFE_INTEGER, id, "offset"),
        count: intField(o, "count", 1, MAX_PAGE + 1, id, "page size"),
      };
  }
}

/** The k best pairs of an H × C matrix (row = head), descending. */
export function topPairs(matrix: Float32Array, neurons: number, k: number): RankedPair[] {
  return topIndices(matrix, k).map((i) => ({ neuron: i % neurons, head: Math.floor(i / neurons), score: matrix[i] }));
}

/** Per neuron: max of an H × C score over heads and the head reaching it (the "parent neuron" summary). */
export function neuronMax(matrix: Float32Array, heads: number, neurons: number): { max: Float32Array; head: Int32Array } {
  const max = new Float32Array(neurons).fill(-Infinity);
  const head = new Int32Array(neurons);
  for (let h = 0; h < heads; h++) {
    for (let n = 0; n < neurons; n++) {
      const x = matrix[h * neurons + n];
      if (x > max[n]) { max[n] = x; head[n] = h; }
    }
  }
  return { max, head };
}

/** The k neurons of head h with the highest score, descending. */
export function headTopNeurons(matrix: Float32Array, neurons: number, h: number, k: number): RankedPair[] {
  const row = matrix.subarray(h * neurons, (h + 1) * neurons);
  return topIndices(row, k).map((n) => ({ neuron: n, head: h, score: row[n] }));
}

/** State the front end may change (the view's own selections); everything else is the kernel's. */
export const FRONTEND_KEYS = ["selected_head", "selected_neuron", "score_name", "query", "ranking"] as const;
/** State only the kernel writes. */
export const KERNEL_KEYS = ["title", "heads", "neurons", "score_names", "score_signed", "scores", "status", "error", "offline", "offline_blob"] as const;

/**
 * Validate a front end's state update against the browser's current state (null = fine, else why not): kernel-owned
 * keys may not change (e.g. `heads`, or the `scores` buffer), selections must be in range, the score must exist,
 * the query must be a short string and the ranking a list of in-range pairs. Protocol keys (_view_count, layout…)
 * pass.
 */
export function checkFrontendUpdate(changed: Record<string, unknown>, current: Record<string, unknown>): string | null {
  const heads = current.heads as number, neurons = current.neurons as number;
  for (const key of KERNEL_KEYS) {
    if (key in changed) return `'${key}' is set by the kernel, not the front end`;
  }
  const int = (v: unknown, lo: number, hi: number) => typeof v === "number" && Number.isInteger(v) && v >= lo && v < hi;
  if ("selected_head" in changed && !int(changed.selected_head, -1, heads)) return `selected_head must be an integer in [-1, ${heads - 1}]`;
  if ("selected_neuron" in changed && !int(changed.selected_neuron, -1, neurons)) return `selected_neuron must be an integer in [-1, ${neurons - 1}]`;
  if ("score_name" in changed) {
    const names = current.score_names as string[];
    if (typeof changed.score_name !== "string" || !names.includes(changed.score_name)) return `score_name must be one of ${names.join(", ")}`;
  }
  if ("query" in changed && (typeof changed.query !== "string" || changed.query.length > MAX_QUERY_CHARS)) {
    return `query must be a string of at most ${MAX_QUERY_CHARS} characters`;
  }
  if ("ranking" in changed) {
    const r = changed.ranking;
    const ok = Array.isArray(r) && r.length <= 1000 && r.every((p) => p !== null && typeof p === "object" &&
      int((p as { head?: unknown }).head, 0, heads) && int((p as { neuron?: unknown }).neuron, 0, neurons) &&
      typeof (p as { score?: unknown }).score === "number");
    if (!ok) return "ranking must be a list of { neuron, head, score } with neuron and head in range";
  }
  return null;
}
