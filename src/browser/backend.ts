/**
 * The kernel side's request handler, independent of comms: given a BrowserSource (pair directions, scores,
 * top images, text encoder, vocabulary, thumbnails) it answers each view request with a JSON reply plus binary
 * buffers. It never throws: a bad request or a failing source becomes an `error` reply.
 */
import {
  BrowserReply, BrowserRequest, BrowserStateJSON, HeadNeuronRow, HeadText, ImageRef, NeuronHeadColumn, OfflineIndex,
  OfflineUnits, PairDetail, RankedPair, TextWord, UnitImages,
} from "./protocol";
import {
  BrowserRequestError, headTopNeurons, matchWords, neuronMax, parseRequest, topPairs,
} from "./logic";

/** One ranked top image of a pair, as the collection knows it. */
export interface SourceImage {
  id: string;
  path: string;
  label: string;
  value: number;
}

/** A named H × C score matrix (signed scores get a diverging colour map). */
export interface NamedScore {
  name: string;
  signed: boolean;
  values: Float32Array;
}

/** A unit's words from the sparse text decomposition (OMP) and the heads' TextSpan texts (labels.json). */
export interface UnitTextLabels {
  pair(head: number, neuron: number): TextWord[];
  neuron(neuron: number): TextWord[];
  head(head: number): HeadText[];
}

/** What the browser needs from a model + collection. Implemented by browserSource.ts (and by synthetic tests). */
export interface BrowserSource {
  title: string;
  heads: number;
  neurons: number;
  dim: number;
  /** Pair directions w, H × C × d (pair p = h·C + n), for the words of each pair. */
  directions: Float32Array;
  /** cos(w^{n,h}, t) for every pair (H × C) and one text embedding t (d): the query ranking. */
  pairSimilarity(text: Float32Array): Float32Array;
  scores: NamedScore[];
  topImages(head: number, neuron: number, offset: number, count: number): { total: number; images: SourceImage[] };
  /** Text embeddings (T × d, any norm). */
  encodeTexts(texts: string[]): Promise<Float32Array>;
  /** Vocabulary words with unit-row embeddings (V × d); loaded lazily, cached by the source. */
  vocabulary(): Promise<{ words: string[]; embeddings: Float32Array }>;
  /** Small PNG thumbnail of an image file. */
  thumbnail(path: string): Promise<Uint8Array>;
  /** Thumbnails that could not be made so far (missing or broken files), for the caller to report. */
  thumbnailFailures?(): { path: string; reason: string }[];
  /**
   * A unit's top images by the top-image retrieval (a neuron { neuron }, a head { head } or a pair { neuron, head }),
   * best first; with it the neuron view shows the neuron's own images beside its pairs' (ranked the same way) and
   * the head view the head's own.
   */
  unitImages?(
    unit: { neuron: number; head?: number } | { head: number; neuron?: number },
    count: number,
  ): SourceImage[];
  /** What unitImages ranks by, e.g. "raw norm ‖r(I)‖". */
  unitImagesRanking?: string;
  /** OMP words of pairs and neurons, TextSpan texts of heads (optional). */
  textLabels?: UnitTextLabels;
}

export interface BrowserOptions {
  imagesPerPair?: number;
  wordsPerSign?: number;
  imagesPerHead?: number;
  headRows?: number;
  rankingSize?: number;
}

export interface Reply {
  reply: BrowserReply;
  buffers: Uint8Array[];
}

export class BrowserBackend {
  readonly source: BrowserSource;
  private readonly opts: Required<BrowserOptions>;
  private readonly parent: { max: Float32Array; head: Int32Array };

  constructor(source: BrowserSource, opts: BrowserOptions = {}) {
    const { heads, neurons, dim } = source;
    if (source.directions.length !== heads * neurons * dim) {
      throw new Error(`pair directions have ${source.directions.length} values, expected ${heads}×${neurons}×${dim}`);
    }
    if (!source.scores.length) throw new Error("the browser needs at least one score");
    for (const s of source.scores) {
      if (s.values.length !== heads * neurons) throw new Error(`score '${s.name}' is not ${heads}×${neurons}`);
    }
    this.source = source;
    this.opts = { imagesPerPair: 8, wordsPerSign: 6, imagesPerHead: 4, headRows: 12, rankingSize: 50, ...opts };
    this.parent = neuronMax(source.scores[0].values, heads, neurons);
  }

  /** Initial synced state (JSON part) and the binary score matrices (names × H × C float32). */
  initialState(offline: OfflineIndex): { state: BrowserStateJSON; scores: Float32Array } {
    const { heads, neurons, scores } = this.source;
    const all = new Float32Array(scores.length * heads * neurons);
    scores.forEach((s, i) => all.set(s.values, i * heads * neurons));
    const state: BrowserStateJSON = {
      title: this.source.title, heads, neurons,
      score_names: scores.map((s) => s.name), score_signed: scores.map((s) => s.signed),
      score_name: scores[0].name, selected_head: -1, selected_neuron: -1, query: "",
      ranking: topPairs(scores[0].values, neurons, this.opts.rankingSize), status: "ready", error: "", offline,
    };
    return { state, scores: all };
  }

  /** Answer one raw message from the view. Never throws. */
  async handle(raw: unknown): Promise<Reply> {
    let id = -1;
    try {
      const req = parseRequest(raw, this.source.heads, this.source.neurons);
      id = req.id;
      return await this.answer(req);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return { reply: { kind: "error", id: e instanceof BrowserRequestError ? e.id : id, message }, buffers: [] };
    }
  }

  private async answer(req: BrowserRequest): Promise<Reply> {
    const buffers: Uint8Array[] = [];
    switch (req.kind) {
      case "select":
        return { reply: { kind: "pair", id: req.id, detail: await this.pairDetail(req.head, req.neuron, buffers) }, buffers };
      case "neuron": {
        const heads = await this.neuronColumns(req.neuron, buffers);
        const own = await this.unitOwn({ neuron: req.neuron }, buffers);
        const labels = this.source.textLabels;
        const words = labels ? { words: labels.neuron(req.neuron) } : {};
        return { reply: { kind: "neuron", id: req.id, neuron: req.neuron, heads, own, ...words }, buffers };
      }
      case "head": {
        const rows = await this.headRows(req.head, buffers);
        const own = await this.unitOwn({ head: req.head }, buffers);
        const labels = this.source.textLabels;
        const texts = labels ? { texts: labels.head(req.head) } : {};
        return { reply: { kind: "head", id: req.id, head: req.head, rows, own, ...texts }, buffers };
      }
      case "images": {
        const page = this.source.topImages(req.head, req.neuron, req.offset, req.count);
        const images = await this.thumbnails(page.images, buffers);
        return { reply: { kind: "images", id: req.id, head: req.head, neuron: req.neuron, offset: req.offset, total: page.total, images }, buffers };
      }
      case "query": {
        const { top, matrix } = await this.rankQuery(req.text);
        buffers.push(new Uint8Array(matrix.buffer, matrix.byteOffset, matrix.byteLength));
        return { reply: { kind: "ranking", id: req.id, text: req.text, top, matrix: 0 }, buffers };
      }
    }
  }

  /** Cosine of every pair direction with the query's text embedding, and the best pairs. */
  async rankQuery(text: string): Promise<{ top: RankedPair[]; matrix: Float32Array }> {
    const t = await this.source.encodeTexts([text]);
    if (t.length < this.source.dim) throw new Error(`the text encoder returned ${t.length} values, expected ${this.source.dim}`);
    const matrix = this.source.pairSimilarity(t.subarray(0, this.source.dim));
    return { top: topPairs(matrix, this.source.neurons, this.opts.rankingSize), matrix };
  }

  private direction(h: number, n: number): Float32Array {
    const d = this.source.dim;
    const p = h * this.source.neurons + n;
    return this.source.directions.subarray(p * d, (p + 1) * d);
  }

  async pairDetail(h: number, n: number, buffers: Uint8Array[]): Promise<PairDetail> {
    const { neurons } = this.source;
    const scores: Record<string, number> = {};
    for (const s of this.source.scores) scores[s.name] = s.values[h * neurons + n];
    const vocab = await this.source.vocabulary();
    const words = matchWords(this.direction(h, n), vocab.embeddings, vocab.words, this.opts.wordsPerSign);
    const page = this.source.topImages(h, n, 0, this.opts.imagesPerPair);
    const labels = this.source.textLabels;
    const text = labels
      ? { textWords: labels.pair(h, n), neuronWords: labels.neuron(n), headTexts: labels.head(h) }
      : {};
    return {
      head: h, neuron: n, scores,
      parent: { neuron: n, maxScore: this.parent.max[n], bestHead: this.parent.head[n] },
      words, ...text, images: await this.thumbnails(page.images, buffers), totalImages: page.total,
    };
  }

  async neuronColumns(n: number, buffers: Uint8Array[]): Promise<NeuronHeadColumn[]> {
    const { heads, neurons } = this.source;
    const score = this.source.scores[0].values;
    const cols: NeuronHeadColumn[] = [];
    for (let h = 0; h < heads; h++) {
      const images = this.pairImages(h, n, this.opts.imagesPerHead);
      cols.push({ head: h, score: score[h * neurons + n], images: await this.thumbnails(images, buffers) });
    }
    return cols;
  }

  /** A pair's first images in the neuron and head views: ranked as the units' own images when the source ranks them. */
  private pairImages(h: number, n: number, count: number): SourceImage[] {
    return this.source.unitImages
      ? this.source.unitImages({ neuron: n, head: h }, count)
      : this.source.topImages(h, n, 0, count).images;
  }

  /** A neuron's or head's own top images (undefined when the source does not rank units' images). */
  async unitOwn(unit: { neuron: number } | { head: number }, buffers: Uint8Array[]): Promise<UnitImages | undefined> {
    if (!this.source.unitImages) return undefined;
    const images = await this.thumbnails(this.source.unitImages(unit, this.opts.imagesPerPair), buffers);
    return { images, ranking: this.source.unitImagesRanking ?? "contribution norm" };
  }

  async headRows(h: number, buffers: Uint8Array[]): Promise<HeadNeuronRow[]> {
    const top = headTopNeurons(this.source.scores[0].values, this.source.neurons, h, this.opts.headRows);
    const rows: HeadNeuronRow[] = [];
    for (const p of top) {
      rows.push({
        neuron: p.neuron,
        score: p.score,
        images: await this.thumbnails(this.pairImages(h, p.neuron, 3), buffers),
      });
    }
    return rows;
  }

  /** Thumbnails made concurrently (sharp works on libuv's thread pool), buffers appended in image order. */
  private async thumbnails(images: SourceImage[], buffers: Uint8Array[]): Promise<ImageRef[]> {
    // A missing/broken image file shows as an empty tile with its id, not a failed request.
    const made = await Promise.allSettled(images.map((im) => this.source.thumbnail(im.path)));
    return images.map((im, i) => {
      const r = made[i];
      let buffer = -1;
      if (r.status === "fulfilled") { buffers.push(r.value); buffer = buffers.length - 1; }
      return { id: im.id, label: im.label, value: im.value, buffer };
    });
  }

  /**
   * The read-only data of an exported page: details (with thumbnails) of the top `pairCap` pairs by the first
   * score plus every head of the top `neuronCap` neurons, packed as one blob with byte spans.
   */
  async buildOffline(pairCap: number, neuronCap: number): Promise<{ index: OfflineIndex; blob: Uint8Array }> {
    const { heads, neurons } = this.source;
    const first = this.source.scores[0].values;
    const keys = new Set<number>();
    for (const p of topPairs(first, neurons, pairCap)) keys.add(p.head * neurons + p.neuron);
    const topNeurons = topPairs(this.parent.max, neurons, neuronCap).map((p) => p.neuron);
    for (const n of topNeurons) for (let h = 0; h < heads; h++) keys.add(h * neurons + n);
    const buffers: Uint8Array[] = [];
    const pairs: PairDetail[] = [];
    for (const key of keys) pairs.push(await this.pairDetail(Math.floor(key / neurons), key % neurons, buffers));
    let units: OfflineUnits | undefined;
    if (this.source.unitImages) {
      units = { ranking: this.source.unitImagesRanking ?? "contribution norm", neurons: [], heads: [] };
      for (const n of topNeurons) {
        const own = (await this.unitOwn({ neuron: n }, buffers))!.images;
        units.neurons.push({ neuron: n, own, heads: await this.neuronColumns(n, buffers) });
      }
      for (let h = 0; h < heads; h++)
        units.heads.push({ head: h, own: (await this.unitOwn({ head: h }, buffers))!.images });
    }
    // Sources cache thumbnails by path, so one image shared by many pairs is the same array: store it once.
    const spans: [number, number][] = [];
    const seen = new Map<Uint8Array, [number, number]>();
    const unique: Uint8Array[] = [];
    let total = 0;
    for (const b of buffers) {
      let span = seen.get(b);
      if (!span) { span = [total, b.length]; seen.set(b, span); unique.push(b); total += b.length; }
      spans.push(span);
    }
    const blob = new Uint8Array(total);
    for (const b of unique) blob.set(b, (seen.get(b) as [number, number])[0]);
    const note = `read-only page: ${pairs.length} of ${heads * neurons} pairs embedded ` +
      `(top ${pairCap} by ${this.source.scores[0].name} and all heads of the top ${topNeurons.length} neurons); ` +
      `text queries match the embedded pairs' words`;
    const labels = this.source.textLabels;
    const headTexts = labels && Array.from({ length: heads }, (_, h) => ({ head: h, texts: labels.head(h) }));
    return {
      index: { pairs, spans, note, ...(units ? { units } : {}), ...(headTexts ? { heads: headTexts } : {}) },
      blob,
    };
  }
}
