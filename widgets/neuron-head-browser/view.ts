/**
 * NeuronHeadBrowserView: toolbar (score, sort, neuron range, text query), status line, canvas heat map, top list,
 * selected-pair detail and a neuron/head sub-view. Requests go to the kernel over the comm when it is live and to
 * the saved state otherwise (read-only page). The root element carries `data-busy` (pending requests) and
 * `data-last-update-ms` (user action → updated DOM), which the browser tests read.
 */
import { DOMWidgetView } from "@jupyter-widgets/base";
import { BrowserReply, QUERY_SCORE, RankedPair } from "../../src/browser/protocol";
import { ImageUrls, el, replaceChildren } from "./dom";
import { HeatMap } from "./heatmap";
import { topIndices } from "./ranking";
import { NeuronHeadBrowserModel, float32Of } from "./model";
import { PanelActions, headView, neuronView, pairDetail, thumbnails, topList } from "./panels";
import { Answer, LiveResponder, LocalResponder, RequestBody, Responder } from "./responder";
import { injectStyle } from "./style";

const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

export class NeuronHeadBrowserView extends DOMWidgetView {
  declare model: NeuronHeadBrowserModel;
  private heat!: HeatMap;
  private responder!: Responder;
  private status!: HTMLDivElement;
  private scoreSelect!: HTMLSelectElement;
  private fromInput!: HTMLInputElement;
  private toInput!: HTMLInputElement;
  private queryInput!: HTMLInputElement;
  private list!: HTMLDivElement;
  private detail!: HTMLDivElement;
  private subview!: HTMLDivElement;
  private urls = new ImageUrls();
  private subUrls = new ImageUrls();
  private queryMatrix: Float32Array | null = null;
  private lastQuery = "";
  private pending = 0;
  private seq = { detail: 0, sub: 0, query: 0 };

  render(): void {
    injectStyle(this.el.ownerDocument);
    this.el.classList.add("nhb-root");
    const m = this.model;
    const title = el("div", "nhb-title", m.typed("title") || "Neuron-head browser");
    this.status = el("div", "nhb-status");
    this.scoreSelect = el("select", "nhb-score-select");
    this.scoreSelect.addEventListener("change", () => this.showScore(this.scoreSelect.value, true));
    const sort = el("input", "nhb-sort", undefined, { type: "checkbox" });
    sort.addEventListener("change", () => { this.heat.setSort(sort.checked); this.syncWindowInputs(); });
    this.fromInput = el("input", "nhb-from", undefined, { type: "number", min: "0" });
    this.toInput = el("input", "nhb-to", undefined, { type: "number", min: "1" });
    const zoom = () => this.heat.setWindow(Number(this.fromInput.value), Number(this.toInput.value));
    this.fromInput.addEventListener("change", zoom);
    this.toInput.addEventListener("change", zoom);
    const reset = el("button", "nhb-btn nhb-reset", "all neurons");
    reset.addEventListener("click", () => { this.heat.setWindow(0, m.typed("neurons")); this.syncWindowInputs(); });
    this.queryInput = el("input", "nhb-query", undefined, { type: "text", placeholder: "text query, e.g. yellow" });
    this.queryInput.addEventListener("keydown", (e) => { if (e.key === "Enter") void this.runQuery(this.queryInput.value); });
    const rank = el("button", "nhb-btn nhb-rank", "rank pairs");
    rank.addEventListener("click", () => void this.runQuery(this.queryInput.value));
    const sortLabel = el("label", undefined, " sort neurons by max ");
    sortLabel.prepend(sort);
    const toolbar = el("div", "nhb-toolbar");
    toolbar.append(el("span", undefined, "score"), this.scoreSelect, sortLabel, el("span", undefined, "neurons"),
      this.fromInput, el("span", undefined, "to"), this.toInput, reset, this.queryInput, rank);

    this.heat = new HeatMap();
    this.heat.onSelect = (h, n) => this.select(h, n);
    this.heat.onWindow = () => this.syncWindowInputs();
    this.list = el("div", "nhb-listbox");
    this.detail = el("div", "nhb-detailbox", undefined);
    this.detail.appendChild(el("div", "nhb-sub", "Click a cell of the heat map (or a pair of the list) to inspect it."));
    this.subview = el("div", "nhb-subview");
    const body = el("div", "nhb-body");
    body.append(this.list, this.detail);
    this.el.append(title, toolbar, this.status, this.heat.root, body, this.subview);

    if (m.comm_live) {
      const live = new LiveResponder(m);
      live.onError = (message) => this.setStatus(`error: ${message}`, true);
      this.responder = live;
    } else this.responder = new LocalResponder(m);
    this.fillScoreSelect();
    this.showScore(m.typed("score_name") || m.typed("score_names")[0] || "", false);
    this.syncWindowInputs();
    this.showStatus();
    this.listenTo(m, "change:error", () => { if (m.typed("error")) this.showStatus(); });
    this.listenTo(m, "change:status", () => this.showStatus());
    this.listenTo(m, "change:scores change:score_names", () => { this.fillScoreSelect(); this.showScore(this.scoreSelect.value, false); });
    this.listenTo(m, "change:title", () => { title.textContent = m.typed("title"); });
    if (!this.responder.live && m.typed("offline").note) this.setStatus(m.typed("offline").note, false);
    const h = m.typed("selected_head"), n = m.typed("selected_neuron");
    if (h >= 0 && n >= 0) this.select(h, n);
    // A query set from the kernel (browser.rank(...)) or saved with the state: rank it here too.
    this.listenTo(m, "change:query", () => this.followQuery());
    this.followQuery();
  }

  remove(): void {
    this.responder?.dispose();
    this.urls.release();
    this.subUrls.release();
    super.remove();
  }

  private get actions(): PanelActions {
    return {
      pick: (h, n) => this.select(h, n),
      neuronView: (n) => void this.openNeuron(n),
      headView: (h) => void this.openHead(h),
      moreImages: (h, n, offset) => void this.moreImages(h, n, offset),
    };
  }

  private fillScoreSelect(): void {
    const names = [...this.model.typed("score_names"), ...(this.queryMatrix ? [QUERY_SCORE] : [])];
    const current = this.scoreSelect.value || this.model.typed("score_name");
    replaceChildren(this.scoreSelect, ...names.map((n) => el("option", undefined, n, { value: n })));
    if (names.includes(current)) this.scoreSelect.value = current;
  }

  /** Values + colour map of a score name (a synced matrix or the last query's similarity). */
  private matrixOf(name: string): { values: Float32Array; signed: boolean } | null {
    if (name === QUERY_SCORE && this.queryMatrix) return { values: this.queryMatrix, signed: true };
    const values = this.model.scoreMatrix(name);
    if (!values) return null;
    return { values, signed: !!this.model.typed("score_signed")[this.model.typed("score_names").indexOf(name)] };
  }

  /** Switch the heat map and the top list to a score. */
  showScore(name: string, user: boolean, top?: RankedPair[]): void {
    const t0 = now();
    const m = this.matrixOf(name);
    if (!m) return;
    if (this.scoreSelect.value !== name) this.scoreSelect.value = name;
    const heads = this.model.typed("heads"), neurons = this.model.typed("neurons");
    this.heat.setData({ values: m.values, heads, neurons, signed: m.signed, label: name });
    // The kernel's ranking (saved with the state) is the list for the first score; other scores rank here, the same way.
    const saved = this.model.typed("ranking");
    const ranked = top ?? (name === this.model.typed("score_names")[0] && !this.model.typed("query") && saved.length ? saved
      : topIndices(m.values, saved.length || 50).map((i) => ({ neuron: i % neurons, head: Math.floor(i / neurons), score: m.values[i] })));
    replaceChildren(this.list, topList(name === QUERY_SCORE ? `Best pairs for "${this.model.typed("query")}"` : `Best pairs by ${name}`, ranked, this.actions));
    if (user && name !== QUERY_SCORE) { this.model.set("score_name", name); this.model.save_changes(); }
    this.mark(t0);
  }

  private syncWindowInputs(): void {
    this.fromInput.value = String(this.heat.window.start);
    this.toInput.value = String(this.heat.window.end);
  }

  private showStatus(): void {
    const err = this.model.typed("error");
    this.setStatus(err || this.model.typed("status"), !!err);
  }

  setStatus(text: string, isError: boolean): void {
    this.status.textContent = text;
    this.status.classList.toggle("nhb-error", isError);
  }

  /** Send a request; errors (kernel or local) go to the status line and resolve to null. */
  private async ask<K extends BrowserReply["kind"]>(body: RequestBody, kind: K): Promise<(Answer & { reply: Extract<BrowserReply, { kind: K }> }) | null> {
    this.pending++;
    this.el.dataset.busy = String(this.pending);
    try {
      const a = await this.responder.request(body);
      if (a.reply.kind === "error") { this.setStatus(`error: ${a.reply.message}`, true); return null; }
      if (a.reply.kind !== kind) { this.setStatus(`error: unexpected reply '${a.reply.kind}'`, true); return null; }
      return a as Answer & { reply: Extract<BrowserReply, { kind: K }> };
    } finally {
      this.pending--;
      this.el.dataset.busy = String(this.pending);
    }
  }

  private mark(t0: number): void {
    this.el.dataset.lastUpdateMs = (now() - t0).toFixed(1);
  }

  /** Select a pair: highlight it, fetch its detail (thumbnails, words, scores). */
  select(head: number, neuron: number): void {
    void this.selectAsync(head, neuron);
  }

  async selectAsync(head: number, neuron: number): Promise<void> {
    const t0 = now();
    const seq = ++this.seq.detail;
    this.heat.setSelected([head, neuron]);
    this.model.set({ selected_head: head, selected_neuron: neuron });
    this.model.save_changes();
    const a = await this.ask({ kind: "select", head, neuron }, "pair");
    if (!a || seq !== this.seq.detail) return;
    this.urls.release();
    replaceChildren(this.detail, pairDetail(a.reply.detail, a.buffers, this.urls, this.actions));
    this.setStatus(a.reply.note ?? `head ${head} · neuron ${neuron}`, false);
    this.mark(t0);
  }

  private async openNeuron(neuron: number): Promise<void> {
    const t0 = now();
    const seq = ++this.seq.sub;
    const a = await this.ask({ kind: "neuron", neuron }, "neuron");
    if (!a || seq !== this.seq.sub) return;
    this.subUrls.release();
    const view = neuronView(neuron, a.reply.heads, a.buffers, this.subUrls, this.actions, a.reply.own, a.reply.words);
    replaceChildren(this.subview, view);
    this.mark(t0);
  }

  private async openHead(head: number): Promise<void> {
    const t0 = now();
    const seq = ++this.seq.sub;
    const a = await this.ask({ kind: "head", head }, "head");
    if (!a || seq !== this.seq.sub) return;
    this.subUrls.release();
    const view = headView(head, a.reply.rows, a.buffers, this.subUrls, this.actions, a.reply.own, a.reply.texts);
    replaceChildren(this.subview, view);
    this.mark(t0);
  }

  private async moreImages(head: number, neuron: number, offset: number): Promise<void> {
    const a = await this.ask({ kind: "images", head, neuron, offset, count: 16 }, "images");
    if (!a) return;
    const box = this.detail.querySelector(".nhb-detail");
    const more = this.detail.querySelector(".nhb-more");
    if (!box) return;
    box.insertBefore(thumbnails(a.reply.images, a.buffers, this.urls), more);
    const shown = offset + a.reply.images.length;
    if (more && shown >= a.reply.total) more.remove();
    else if (more) more.replaceWith(this.moreButton(head, neuron, shown));
  }

  private moreButton(head: number, neuron: number, offset: number): HTMLButtonElement {
    const b = el("button", "nhb-btn nhb-more", "more images");
    b.addEventListener("click", () => void this.moreImages(head, neuron, offset));
    return b;
  }

  private followQuery(): void {
    const q = this.model.typed("query");
    if (q && q !== this.lastQuery) {
      this.queryInput.value = q;
      void this.runQuery(q);
    }
  }

  /** Rank all pairs by similarity to a text query; heat map and top list switch to the result. */
  async runQuery(text: string): Promise<void> {
    const t0 = now();
    const q = text.trim();
    if (!q) { this.setStatus("error: the query is empty", true); return; }
    this.lastQuery = q;
    const seq = ++this.seq.query;
    this.setStatus(`ranking all pairs for "${q}"…`, false);
    const a = await this.ask({ kind: "query", text: q }, "ranking");
    if (!a || seq !== this.seq.query) return;
    const expected = this.model.typed("heads") * this.model.typed("neurons");
    const matrix = float32Of(a.buffers[a.reply.matrix]);
    if (matrix.length !== expected) { this.setStatus(`error: similarity matrix has ${matrix.length} values, expected ${expected}`, true); return; }
    this.queryMatrix = matrix;
    this.model.set({ query: q, ranking: a.reply.top });
    this.model.save_changes();
    this.fillScoreSelect();
    this.showScore(QUERY_SCORE, false, a.reply.top);
    this.setStatus(a.reply.note ?? `ranked ${expected} pairs by cosine(w, text("${q}"))`, false);
    this.mark(t0);
  }
}
