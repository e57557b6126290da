/**
 * Kernel side of the neuron-head browser without a kernel: request validation, top-k, query ranking, word
 * matching, the backend's replies (incl. error replies for bad requests and failing sources), offline packing,
 * and the saved-state / page builders (escaping inside <script>).
 */
import { describe, it, expect } from "vitest";
import { BrowserRequestError, matchWords, neuronMax, parseRequest, topPairs } from "../src/browser/logic";
import { normalizeRows } from "../src/util/rows";
import { topIndices } from "../src/util/topk";
import { BrowserBackend, BrowserSource } from "../src/browser/backend";
import { syntheticSource, hashEmbedding } from "../src/browser/synthetic";
import { browserPageHtml, browserWidgetState, savedStateDocument, scriptJson } from "../src/browser/state";

const H = 4, C = 30, D = 12;

describe("request validation", () => {
  it("accepts well-formed requests", () => {
    expect(parseRequest({ kind: "select", id: 3, head: 1, neuron: 29 }, H, C)).toEqual({ kind: "select", id: 3, head: 1, neuron: 29 });
    expect(parseRequest({ kind: "query", id: 1, text: "  yellow  " }, H, C)).toEqual({ kind: "query", id: 1, text: "yellow" });
    expect(parseRequest({ kind: "images", id: 2, head: 0, neuron: 0, offset: 8, count: 16 }, H, C).kind).toBe("images");
  });

  it.each([
    [null, -1, "malformed request: expected an object"],
    [[1, 2], -1, "malformed request: expected an object"],
    [{ kind: "select", head: 0, neuron: 0 }, -1, "malformed request: missing integer 'id'"],
    [{ kind: "explode", id: 4 }, 4, 'malformed request: unknown kind "explode"'],
    [{ kind: "select", id: 5, head: 4, neuron: 0 }, 5, "head 4 is out of range: head index must be in [0, 3]"],
    [{ kind: "select", id: 6, head: 0, neuron: -1 }, 6, "neuron -1 is out of range: neuron index must be in [0, 29]"],
    [{ kind: "select", id: 7, head: "0", neuron: 1 }, 7, "'head' must be an integer head index"],
    [{ kind: "neuron", id: 8, neuron: 1.5 }, 8, "'neuron' must be an integer neuron index"],
    [{ kind: "query", id: 9, text: "   " }, 9, "the query is empty"],
    [{ kind: "query", id: 10, text: 42 }, 10, "'text' must be a string"],
    [{ kind: "images", id: 11, head: 0, neuron: 0, offset: 0, count: 1000 }, 11, "count 1000 is out of range: page size must be in [1, 100]"],
  ])("rejects %j", (raw, id, message) => {
    let err: unknown;
    try { parseRequest(raw, H, C); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(BrowserRequestError);
    expect((err as BrowserRequestError).id).toBe(id);
    expect((err as Error).message).toBe(message);
  });
});

describe("ranking and matching", () => {
  it("topIndices equals a full sort (ties by index, NaN skipped)", () => {
    const v = Float32Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 263) / 263);
    v[17] = NaN;
    const brute = Array.from(v, (x, i) => [x, i]).filter(([x]) => !Number.isNaN(x)).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map((p) => p[1]);
    expect(topIndices(v, 25)).toEqual(brute.slice(0, 25));
    expect(topIndices(v, 0)).toEqual([]);
    expect(topIndices(new Float32Array([1, 2]), 5)).toEqual([1, 0]);
  });

  it("the source's pairSimilarity is the cosine of each pair direction with the text (synthetic: rowCosines)", async () => {
    const src = syntheticSource({ heads: H, neurons: C, dim: D });
    const t = hashEmbedding("yellow", D).map((x) => x * 3);
    const sim = src.pairSimilarity(t);
    expect(sim.length).toBe(H * C);
    for (const p of [0, 7, H * C - 1]) {
      const w = src.directions.subarray(p * D, (p + 1) * D);
      let dot = 0, nw = 0, nt = 0;
      for (let j = 0; j < D; j++) { dot += w[j] * t[j]; nw += w[j] ** 2; nt += t[j] ** 2; }
      expect(sim[p]).toBeCloseTo(dot / Math.sqrt(nw * nt), 5);
    }
    // The synthetic source plants word p % 20 in pair (7p mod H·C): a planted "yellow" (word 0) pair ranks first.
    const planted = [0, 20, 40].map((p) => (p * 7) % (H * C));
    const best = topPairs(sim, C, 1)[0];
    expect(planted).toContain(best.head * C + best.neuron);
    expect(best.score).toBe(Math.max(...sim));
    // a text encoder giving fewer than d values is an error reply, not a ranking
    const short = new BrowserBackend({ ...src, encodeTexts: async () => new Float32Array(3) });
    expect((await short.handle({ kind: "query", id: 3, text: "x" })).reply).toEqual({
      kind: "error", id: 3, message: `the text encoder returned 3 values, expected ${D}`,
    });
  });

  it("topPairs ranks an H×C matrix into { neuron, head, score }, ties by h·C + n", () => {
    const m = Float32Array.from({ length: H * C }, (_, p) => (p * 11) % 17);
    const want = Array.from(m, (x, p) => [x, p]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 9)
      .map(([x, p]) => ({ neuron: p % C, head: Math.floor(p / C), score: x }));
    expect(topPairs(m, C, 9)).toEqual(want);
  });

  it("matchWords returns the best words for +w and for −w", () => {
    const words = ["a", "b", "c", "d"];
    const vocab = normalizeRows(Float32Array.from([1, 0, 0, 1, -1, 0, 0.6, 0.8]), 2);
    const m = matchWords(Float32Array.from([2, 0]), vocab, words, 2);
    expect(m.map((x) => [x.word, x.sign])).toEqual([["a", 1], ["d", 1], ["c", -1], ["b", -1]]);
    expect(m[0].cosine).toBeCloseTo(1);
    expect(m[2].cosine).toBeCloseTo(1);
    expect(() => matchWords(Float32Array.from([1, 0]), vocab, ["a"], 1)).toThrow(/not 1 × 2/);
  });

  it("neuronMax gives the max over heads and its head", () => {
    const m = Float32Array.from([1, 5, 2, 3, 0, 7]); // 2 heads × 3 neurons
    const r = neuronMax(m, 2, 3);
    expect(Array.from(r.max)).toEqual([3, 5, 7]);
    expect(Array.from(r.head)).toEqual([1, 0, 1]);
  });
});

describe("BrowserBackend", () => {
  const source = syntheticSource({ heads: H, neurons: C, dim: D, topK: 10 });
  const backend = new BrowserBackend(source, { imagesPerPair: 4 });

  it("answers select with scores, parent neuron, ± words and one PNG buffer per image", async () => {
    const { reply, buffers } = await backend.handle({ kind: "select", id: 1, head: 2, neuron: 5 });
    expect(reply.kind).toBe("pair");
    if (reply.kind !== "pair") return;
    const d = reply.detail;
    expect([d.head, d.neuron, d.totalImages, d.images.length]).toEqual([2, 5, 10, 4]);
    expect(d.scores["contribution norm"]).toBe(source.scores[0].values[2 * C + 5]);
    const col = Array.from({ length: H }, (_, h) => source.scores[0].values[h * C + 5]);
    expect(d.parent).toEqual({ neuron: 5, maxScore: Math.max(...col), bestHead: col.indexOf(Math.max(...col)) });
    expect(d.words.filter((w) => w.sign === 1).length).toBe(6);
    expect(d.words.filter((w) => w.sign === -1).length).toBe(6);
    expect(buffers.length).toBe(4);
    expect(d.images.map((i) => i.buffer)).toEqual([0, 1, 2, 3]);
    expect(Array.from(buffers[0].subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]); // PNG
  });

  it("answers query with the H×C similarity as one float32 buffer and the best pairs", async () => {
    const { reply, buffers } = await backend.handle({ kind: "query", id: 2, text: "butterfly" });
    expect(reply.kind).toBe("ranking");
    if (reply.kind !== "ranking") return;
    const m = new Float32Array(buffers[reply.matrix].buffer.slice(0));
    expect(m.length).toBe(H * C);
    expect(reply.top.length).toBe(50);
    expect(reply.top[0].score).toBe(Math.max(...m));
    expect(m[reply.top[0].head * C + reply.top[0].neuron]).toBe(reply.top[0].score);
    expect(Object.keys(reply.top[0]).sort()).toEqual(["head", "neuron", "score"]); // the wire format
  });

  it("answers neuron, head and image-page requests", async () => {
    const n = await backend.handle({ kind: "neuron", id: 3, neuron: 4 });
    expect(n.reply.kind === "neuron" && n.reply.heads.map((c) => c.head)).toEqual([0, 1, 2, 3]);
    const h = await backend.handle({ kind: "head", id: 4, head: 1 });
    expect(h.reply.kind === "head" && h.reply.rows.length).toBe(12);
    const p = await backend.handle({ kind: "images", id: 5, head: 0, neuron: 0, offset: 8, count: 5 });
    expect(p.reply.kind === "images" && [p.reply.total, p.reply.images.length]).toEqual([10, 2]);
  });

  it("turns bad requests and failing sources into error replies (never throws)", async () => {
    expect((await backend.handle({ kind: "select", id: 9, head: 99, neuron: 0 })).reply).toEqual({
      kind: "error", id: 9, message: "head 99 is out of range: head index must be in [0, 3]",
    });
    expect((await backend.handle("not json")).reply).toMatchObject({ kind: "error", id: -1 });
    const broken: BrowserSource = { ...source, encodeTexts: async () => { throw new Error("text tower exploded"); } };
    const r = await new BrowserBackend(broken).handle({ kind: "query", id: 12, text: "x" });
    expect(r.reply).toEqual({ kind: "error", id: 12, message: "text tower exploded" });
    // A missing image file is an empty tile, not a failed request.
    const noThumbs: BrowserSource = { ...source, thumbnail: async (p) => { throw new Error(`cannot read ${p}`); } };
    const s = await new BrowserBackend(noThumbs).handle({ kind: "select", id: 13, head: 0, neuron: 0 });
    expect(s.reply.kind === "pair" && s.reply.detail.images.every((i) => i.buffer === -1)).toBe(true);
  });

  it("rejects inconsistent sources at construction", () => {
    expect(() => new BrowserBackend({ ...source, directions: new Float32Array(3) })).toThrow(/expected 4×30×12/);
    expect(() => new BrowserBackend({ ...source, scores: [] })).toThrow(/at least one score/);
  });

  it("packs offline data: top pairs + all heads of top neurons, each distinct thumbnail stored once", async () => {
    const { index, blob } = await backend.buildOffline(10, 2);
    const keys = new Set(index.pairs.map((p) => p.head * C + p.neuron));
    for (const p of topPairs(source.scores[0].values, C, 10)) expect(keys.has(p.head * C + p.neuron)).toBe(true);
    const { max } = neuronMax(source.scores[0].values, H, C);
    for (const n of topIndices(max, 2)) for (let h = 0; h < H; h++) expect(keys.has(h * C + n)).toBe(true);
    const distinct = new Set(index.spans.map((s) => s.join(":")));
    expect(blob.length).toBe([...distinct].reduce((a, s) => a + Number(s.split(":")[1]), 0));
    for (const p of index.pairs) for (const im of p.images) {
      const [start] = index.spans[im.buffer];
      expect(Array.from(blob.subarray(start, start + 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    }
  });
});

describe("saved state and offline page", () => {
  it("puts binary traits in base64 buffers and keeps `<` out of inline JSON", async () => {
    const backend = new BrowserBackend(syntheticSource({ heads: H, neurons: C, dim: D }));
    const off = await backend.buildOffline(5, 1);
    const ws = browserWidgetState(backend, off);
    const doc = savedStateDocument("m", ws) as { state: { m: { state: Record<string, unknown>; buffers: { path: string[]; data: string }[] } } };
    const entry = doc.state.m;
    expect(entry.state.scores).toBeNull();
    expect(entry.buffers.map((b) => b.path)).toEqual([["scores"], ["offline_blob"]]);
    const scores = Float32Array.from(new Float32Array(Uint8Array.from(Buffer.from(entry.buffers[0].data, "base64")).buffer));
    expect(scores.length).toBe(2 * H * C);
    expect(scores[H * C + 3]).toBe(backend.source.scores[1].values[3]);
    expect(scriptJson({ w: "</script><img onerror=x>" })).toBe('{"w":"\\u003c/script>\\u003cimg onerror=x>"}');
    const html = browserPageHtml({ title: "a <b> & c", modelId: "m", state: ws, bundleJs: 'console.log("</script>")' });
    expect(html).toContain("<title>a &lt;b&gt; &amp; c</title>");
    expect(html).toContain('console.log("<\\/script>")');
    expect(html.match(/<\/script>/g)!.length).toBe(3); // state, view, bundle — nothing from the data closes a tag
    expect(html).not.toMatch(/https?:\/\//);
  });
});
