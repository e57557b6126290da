/**
 * Where the view's requests go. LiveResponder sends custom messages over the comm and matches replies by id;
 * LocalResponder answers from the saved state (offline index + blob) when there is no kernel — a read-only page.
 */
import {
  BrowserReply, BrowserRequest, ImageRef, OfflineUnits, PairDetail, RankedPair, WordMatch,
} from "../../src/browser/protocol";
import { NeuronHeadBrowserModel, bytesOf } from "./model";

/** Request without id (the responder numbers them). */
export type RequestBody = BrowserRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export interface Answer {
  reply: BrowserReply;
  buffers: Uint8Array[];
}

export interface Responder {
  readonly live: boolean;
  request(body: RequestBody): Promise<Answer>;
  dispose(): void;
}

/** Answers over the widget comm (kernel side: kernel-ext/widgets/neuronHeadBrowser.ts). */
export class LiveResponder implements Responder {
  readonly live = true;
  private next = 1;
  private pending = new Map<number, { resolve: (a: Answer) => void; timer: ReturnType<typeof setTimeout> }>();
  private readonly onMsg = (content: unknown, buffers?: unknown[]) => {
    const reply = content as BrowserReply;
    if (!reply || typeof reply !== "object" || typeof reply.id !== "number") return;
    // An error the kernel raised on its own (e.g. it refused a state update) answers no request.
    if (reply.id === -1 && reply.kind === "error") { this.onError?.(reply.message); return; }
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    p.resolve({ reply, buffers: (buffers ?? []).map(bytesOf) });
  };

  /** Errors that answer no request (shown by the view's status line). */
  onError?: (message: string) => void;

  constructor(private readonly model: NeuronHeadBrowserModel, private readonly timeoutMs = 180_000) {
    model.on("msg:custom", this.onMsg);
  }

  request(body: RequestBody): Promise<Answer> {
    const id = this.next++;
    return new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ reply: { kind: "error", id, message: `no reply from the kernel within ${this.timeoutMs / 1000} s` }, buffers: [] });
      }, this.timeoutMs);
      this.pending.set(id, { resolve, timer });
      this.model.send({ ...body, id } as never);
    });
  }

  dispose(): void {
    this.model.off("msg:custom", this.onMsg);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}

/** Answers from the saved state alone: embedded pair details, the synced score matrices, embedded words. */
export class LocalResponder implements Responder {
  readonly live = false;
  private next = 1;
  private byKey = new Map<number, PairDetail>();

  constructor(private readonly model: NeuronHeadBrowserModel) {
    const C = model.typed("neurons");
    for (const p of model.typed("offline").pairs) this.byKey.set(p.head * C + p.neuron, p);
  }

  /** The embedded neuron / head views (pages exported from sources that rank units' images). */
  private get units(): OfflineUnits | undefined {
    return this.model.typed("offline").units;
  }

  private get note(): string {
    return this.model.typed("offline").note || "read-only page (no kernel)";
  }

  /** Copy the embedded thumbnails of `images` into a fresh buffer list and re-index them. */
  private images(images: ImageRef[], buffers: Uint8Array[]): ImageRef[] {
    const spans = this.model.typed("offline").spans;
    const blob = bytesOf(this.model.typed("offline_blob"));
    return images.map((im) => {
      const span = im.buffer >= 0 ? spans[im.buffer] : undefined;
      if (!span) return { ...im, buffer: -1 };
      buffers.push(blob.subarray(span[0], span[0] + span[1]));
      return { ...im, buffer: buffers.length - 1 };
    });
  }

  private first(): Float32Array {
    return this.model.scoreMatrix(this.model.typed("score_names")[0]) ?? new Float32Array(0);
  }

  private inRange(h: number | undefined, n: number | undefined): string | null {
    const H = this.model.typed("heads"), C = this.model.typed("neurons");
    if (h !== undefined && !(Number.isInteger(h) && h >= 0 && h < H)) return `head ${h} is out of range [0, ${H - 1}]`;
    if (n !== undefined && !(Number.isInteger(n) && n >= 0 && n < C)) return `neuron ${n} is out of range [0, ${C - 1}]`;
    return null;
  }

  async request(body: RequestBody): Promise<Answer> {
    const id = this.next++;
    const buffers: Uint8Array[] = [];
    const H = this.model.typed("heads"), C = this.model.typed("neurons");
    const bad = this.inRange("head" in body ? body.head : undefined, "neuron" in body ? body.neuron : undefined);
    if (bad) return { reply: { kind: "error", id, message: bad }, buffers };
    switch (body.kind) {
      case "select": {
        const hit = this.byKey.get(body.head * C + body.neuron);
        if (hit) return { reply: { kind: "pair", id, detail: { ...hit, images: this.images(hit.images, buffers) } }, buffers };
        return { reply: { kind: "pair", id, detail: this.partial(body.head, body.neuron), note: `pair not embedded — ${this.note}` }, buffers };
      }
      case "neuron": {
        // the neuron's OMP words travel with each of its embedded pairs
        const withWords = [...this.byKey.values()].find((p) => p.neuron === body.neuron && p.neuronWords);
        const words = withWords ? { words: withWords.neuronWords } : {};
        const units = this.units;
        const view = units?.neurons.find((v) => v.neuron === body.neuron);
        if (units && view) {
          const heads = view.heads.map((c) => ({ ...c, images: this.images(c.images, buffers) }));
          const own = { images: this.images(view.own, buffers), ranking: units.ranking };
          return { reply: { kind: "neuron", id, neuron: body.neuron, heads, own, ...words }, buffers };
        }
        const first = this.first();
        const heads = [];
        for (let h = 0; h < H; h++) {
          const hit = this.byKey.get(h * C + body.neuron);
          heads.push({ head: h, score: first[h * C + body.neuron], images: hit ? this.images(hit.images.slice(0, 4), buffers) : [] });
        }
        return { reply: { kind: "neuron", id, neuron: body.neuron, heads, ...words }, buffers };
      }
      case "head": {
        const first = this.first();
        const row = Array.from(first.subarray(body.head * C, (body.head + 1) * C), (v, n) => ({ n, v }));
        row.sort((a, b) => b.v - a.v);
        const rows = row.slice(0, 12).map(({ n, v }) => {
          const hit = this.byKey.get(body.head * C + n);
          return { neuron: n, score: v, images: hit ? this.images(hit.images.slice(0, 3), buffers) : [] };
        });
        const units = this.units;
        const saved = units?.heads.find((v) => v.head === body.head);
        const own = units && saved ? { images: this.images(saved.own, buffers), ranking: units.ranking } : undefined;
        const texts = this.model.typed("offline").heads?.find((x) => x.head === body.head)?.texts;
        return { reply: { kind: "head", id, head: body.head, rows, own, ...(texts ? { texts } : {}) }, buffers };
      }
      case "images": {
        const hit = this.byKey.get(body.head * C + body.neuron);
        const all = hit ? hit.images : [];
        const images = this.images(all.slice(body.offset, body.offset + body.count), buffers);
        return { reply: { kind: "images", id, head: body.head, neuron: body.neuron, offset: body.offset, total: all.length, images }, buffers };
      }
      case "query":
        return this.query(id, body.text);
    }
  }

  /** Offline query: rank embedded pairs by the cosine of their matching words (substring match, ± sign). */
  private query(id: number, text: string): Answer {
    const q = text.trim().toLowerCase();
    if (!q) return { reply: { kind: "error", id, message: "the query is empty" }, buffers: [] };
    const C = this.model.typed("neurons");
    const matrix = new Float32Array(this.model.typed("heads") * C);
    const top: RankedPair[] = [];
    for (const p of this.byKey.values()) {
      let best: WordMatch | null = null;
      for (const w of p.words) if (w.word.toLowerCase().includes(q) && (!best || w.cosine > best.cosine)) best = w;
      if (!best) continue;
      const value = best.sign * best.cosine;
      matrix[p.head * C + p.neuron] = value;
      top.push({ neuron: p.neuron, head: p.head, score: value });
    }
    top.sort((a, b) => b.score - a.score || a.head * C + a.neuron - (b.head * C + b.neuron));
    const note = `offline: ${top.length} embedded pair(s) have a word matching "${text}" — ${this.note}`;
    return { reply: { kind: "ranking", id, text, top: top.slice(0, 50), matrix: 0, note }, buffers: [new Uint8Array(matrix.buffer)] };
  }

  private partial(h: number, n: number): PairDetail {
    const C = this.model.typed("neurons");
    const scores: Record<string, number> = {};
    for (const name of this.model.typed("score_names")) scores[name] = this.model.scoreMatrix(name)?.[h * C + n] ?? NaN;
    const first = this.first();
    let maxScore = -Infinity, bestHead = 0;
    for (let k = 0; k < this.model.typed("heads"); k++) if (first[k * C + n] > maxScore) { maxScore = first[k * C + n]; bestHead = k; }
    return { head: h, neuron: n, scores, parent: { neuron: n, maxScore, bestHead }, words: [], images: [], totalImages: 0 };
  }

  dispose(): void {
    this.byKey.clear();
  }
}
