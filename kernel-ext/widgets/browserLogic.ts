/**
 * Pure logic of the neuron-head browser's kernel side: request validation, top-k selection over all pairs,
 * query ranking (w·t over every pair) and best-matching words (cosine of ±w with vocabulary embeddings).
 * No I/O and no kernel here, so all of it is unit-tested directly.
 */
import { BrowserRequest, RankedPair, REQUEST_KINDS, WordMatch } from "./browserProtocol";

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

/**
 * Indices of the k largest values (descending), NaN skipped. A bounded min-heap: O(N log k), so ranking all
 * 147,456 pairs of RN50x16 stays a few milliseconds.
 */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  // Min-heap on "worse": lower value, or equal value and higher index (ties keep the lower index).
  const heap: number[] = [];
  const worse = (a: number, b: number) => values[a] < values[b] || (values[a] === values[b] && a > b);
  const swap = (a: number, b: number) => { const t = heap[a]; heap[a] = heap[b]; heap[b] = t; };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l], heap[m])) m = l;
      if (r < heap.length && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      swap(i, m); i = m;
    }
  };
  if (k <= 0) return [];
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (Number.isNaN(x)) continue;
    if (heap.length < k) {
      heap.push(i);
      for (let j = heap.length - 1; j > 0;) {
        const p = (j - 1) >> 1;
        if (!worse(heap[j], heap[p])) break;
        swap(p, j); j = p;
      }
    } else if (x > values[heap[0]]) {
      heap[0] = i; down(0); // equal values never replace: earlier (lower) indices win ties
    }
  }
  return heap.sort((a, b) => values[b] - values[a] || a - b);
}

/** The k best pairs of an H × C matrix (row = head), descending. */
export function topPairs(matrix: Float32Array, neurons: number, k: number): RankedPair[] {
  return topIndices(matrix, k).map((i) => ({ head: Math.floor(i / neurons), neuron: i % neurons, value: matrix[i] }));
}

/** Euclidean norm of each d-vector of an N × d matrix. */
export function rowNorms(m: Float32Array, d: number): Float32Array {
  const n = m.length / d;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * d; j < (i + 1) * d; j++) s += m[j] * m[j];
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** A copy of an N × d matrix with unit rows (zero rows stay zero). */
export function normalizeRows(m: Float32Array, d: number): Float32Array {
  const norms = rowNorms(m, d);
  const out = new Float32Array(m.length);
  for (let i = 0; i < norms.length; i++) {
    const s = norms[i] > 0 ? 1 / norms[i] : 0;
    for (let j = 0; j < d; j++) out[i * d + j] = m[i * d + j] * s;
  }
  return out;
}

/**
 * Cosine similarity of every pair direction w (H × C × d, flattened pairs) with one text direction t:
 * the query ranking. `wNorms` = rowNorms(w, d), computed once per browser.
 */
export function querySimilarity(w: Float32Array, wNorms: Float32Array, d: number, t: Float32Array): Float32Array {
  if (t.length !== d) throw new Error(`text embedding has ${t.length} dims, pair directions have ${d}`);
  let tn = 0;
  for (let j = 0; j < d; j++) tn += t[j] * t[j];
  tn = Math.sqrt(tn) || 1;
  const out = new Float32Array(wNorms.length);
  for (let p = 0; p < wNorms.length; p++) {
    let s = 0;
    const o = p * d;
    for (let j = 0; j < d; j++) s += w[o + j] * t[j];
    out[p] = wNorms[p] > 0 ? s / (wNorms[p] * tn) : 0;
  }
  return out;
}

/**
 * Best-matching vocabulary words of one pair direction: the k words with the highest cosine to +w and the k with
 * the highest cosine to −w. `vocab` is V × d with unit rows.
 */
export function matchWords(direction: Float32Array, vocab: Float32Array, words: readonly string[], k: number): WordMatch[] {
  const d = direction.length;
  if (vocab.length !== words.length * d) throw new Error(`vocabulary embeddings are not ${words.length} × ${d}`);
  let n = 0;
  for (let j = 0; j < d; j++) n += direction[j] * direction[j];
  n = Math.sqrt(n) || 1;
  const cos = new Float32Array(words.length);
  for (let i = 0; i < words.length; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += vocab[i * d + j] * direction[j];
    cos[i] = s / n;
  }
  const pos = topIndices(cos, k).map((i): WordMatch => ({ word: words[i], sign: 1, cosine: cos[i] }));
  const neg = new Float32Array(cos.length);
  for (let i = 0; i < cos.length; i++) neg[i] = -cos[i];
  const negs = topIndices(neg, k).map((i): WordMatch => ({ word: words[i], sign: -1, cosine: neg[i] }));
  return pos.concat(negs);
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
  return topIndices(row, k).map((n) => ({ head: h, neuron: n, value: row[n] }));
}
