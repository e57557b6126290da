// @vitest-environment jsdom
/**
 * jsdom tests of the neuron-head browser's front end: rendering from saved state with html-manager (no kernel →
 * LocalResponder), heat-map clicks, detail panel, neuron/head views, escaping of vocabulary words, offline
 * queries, the live path through a fake comm answered by the real kernel-side backend, and kernel errors in the
 * status line.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { SYNTHETIC_WORDS, syntheticSource } from "../../src/browser/synthetic";
import { BrowserBackend } from "../../src/browser/backend";
import { browserWidgetState, savedStateDocument } from "../../src/browser/state";
import { fmt as fmtValue } from "./heatmapLogic";
import { BrowserModule, SavedStateManager, loadBrowserWidget } from "./testing";

let browser: BrowserModule;
let Manager: SavedStateManager;
beforeAll(async () => {
  ({ browser, Manager } = await loadBrowserWidget());
}, 120_000);

const H = 6, C = 40, D = 16;

async function savedBrowser(pairs = 60, neurons = 3, textLabels = false) {
  const backend = new BrowserBackend(syntheticSource({ heads: H, neurons: C, dim: D, textLabels }));
  const off = await backend.buildOffline(pairs, neurons);
  return { backend, doc: savedStateDocument("model-1", browserWidgetState(backend, off)) };
}

async function render(
  doc: Record<string, unknown>,
  setup?: (model: InstanceType<BrowserModule["NeuronHeadBrowserModel"]>) => void,
) {
  const manager = new Manager();
  const models = await manager.set_state(doc);
  const model = models[0] as InstanceType<BrowserModule["NeuronHeadBrowserModel"]>;
  setup?.(model);
  const host = document.createElement("div");
  document.body.appendChild(host);
  const view = (await manager.create_view(model)) as { el: HTMLElement };
  host.appendChild(view.el);
  return { host, model, view: view as InstanceType<BrowserModule["NeuronHeadBrowserView"]> };
}

/** Wait until no request is pending and `cond` holds. */
async function until(host: HTMLElement, cond: () => boolean, ms = 5000) {
  const t0 = Date.now();
  for (;;) {
    const root = host.querySelector(".nhb-root") as HTMLElement | null;
    if (root && (root.dataset.busy ?? "0") === "0" && cond()) return;
    if (Date.now() - t0 > ms) throw new Error(`timed out; page text: ${host.textContent?.slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function clickCanvas(host: HTMLElement, x: number, y: number) {
  const canvas = host.querySelector("canvas") as HTMLCanvasElement;
  const e = new MouseEvent("click", { bubbles: true });
  Object.defineProperty(e, "offsetX", { value: x });
  Object.defineProperty(e, "offsetY", { value: y });
  canvas.dispatchEvent(e);
}

describe("NeuronHeadBrowser front end (jsdom)", () => {
  it("decodes binary state: score matrices as Float32Array, names, offline data", async () => {
    const { backend, doc } = await savedBrowser();
    const { model } = await render(doc);
    expect(model.typed("heads")).toBe(H);
    expect(model.typed("scores")).toBeInstanceOf(Float32Array);
    expect(model.typed("scores").length).toBe(2 * H * C);
    const sp = model.scoreMatrix("sparsity score")!;
    expect(Array.from(sp)).toEqual(Array.from(backend.source.scores[1].values));
    expect(model.typed("offline").pairs.length).toBeGreaterThan(50);
    expect(model.typed("offline_blob").length).toBeGreaterThan(0);
  });

  it("lists the saved 'best pairs' ranking the kernel computed, not a recomputation", async () => {
    const { backend, doc } = await savedBrowser();
    // The kernel's list (50 pairs by the first score), with a tie order the kernel chose; mark it so a recomputed
    // list could not match it by accident: put the kernel's 10th pair first.
    const state = (
      doc.state as Record<string, { state: { ranking: { neuron: number; head: number; score: number }[] } }>
    )["model-1"].state;
    const kernel = backend.initialState({ pairs: [], spans: [], note: "" }).state.ranking;
    expect(state.ranking).toEqual(kernel);
    const saved = [kernel[9], ...kernel.slice(0, 9), ...kernel.slice(10)];
    state.ranking = saved;
    const { host } = await render(doc);
    const items = Array.from(host.querySelectorAll(".nhb-toplist li button")).map((b) => b.textContent);
    expect(items.length).toBe(25); // the list shows the first 25
    expect(items.slice(0, 3)).toEqual(saved.slice(0, 3).map((p) => `head ${p.head} · neuron ${p.neuron}`));
  });

  it("clicking a heat-map cell selects that pair and shows its detail with thumbnails and words", async () => {
    const { doc } = await savedBrowser(H * C, 0); // every pair embedded
    const { host, model } = await render(doc);
    const canvas = host.querySelector("canvas") as HTMLCanvasElement;
    expect([canvas.width, canvas.height]).toEqual([C, H]); // one pixel per pair at this size
    clickCanvas(host, 7.5, 2.5); // jsdom has no layout: CSS size = canvas size
    await until(host, () => !!host.querySelector(".nhb-detail"));
    expect([model.get("selected_head"), model.get("selected_neuron")]).toEqual([2, 7]);
    const marker = host.querySelector(".nhb-marker") as HTMLElement;
    expect([marker.style.display, marker.style.left, marker.style.width]).toEqual(["block", `${(100 * 7) / C}%`, `${100 / C}%`]);
    expect(parseFloat(marker.style.top)).toBeCloseTo((100 * 2) / H);
    expect(host.querySelector(".nhb-detail .nhb-h")!.textContent).toBe("Pair: head 2 · neuron 7");
    const imgs = host.querySelectorAll(".nhb-detail img");
    expect(imgs.length).toBe(8);
    expect((imgs[0] as HTMLImageElement).src).toMatch(/^(blob:|data:image\/png;base64,iVBORw0KGgo)/);
    expect(host.querySelectorAll(".nhb-word").length).toBe(12);
    expect(host.querySelector(".nhb-parent")!.textContent).toContain("Parent neuron 7");
  });

  it("renders a vocabulary word like <img onerror> as text, never as markup", async () => {
    const { doc } = await savedBrowser(H * C, 0);
    const { host } = await render(doc);
    const evil = "<img src=x onerror=alert(1)>";
    // Find a pair whose words include it, through the offline query (substring match on embedded words).
    const input = host.querySelector(".nhb-query") as HTMLInputElement;
    input.value = "onerror";
    (host.querySelector(".nhb-rank") as HTMLButtonElement).click();
    await until(host, () => host.querySelectorAll(".nhb-toplist li").length > 0);
    (host.querySelector(".nhb-toplist .nhb-link") as HTMLButtonElement).click();
    await until(host, () => !!host.querySelector(".nhb-detail"));
    const words = Array.from(host.querySelectorAll(".nhb-word")).map((w) => w.textContent);
    expect(words).toContain(evil);
    expect(host.querySelectorAll("img[onerror]").length).toBe(0);
    expect(host.innerHTML).toContain("&lt;img src=x onerror=alert(1)&gt;");
    for (const img of Array.from(host.querySelectorAll("img"))) expect(img.getAttribute("src")).toMatch(/^(blob:|data:image\/png)/);
  });

  it("an offline query ranks embedded pairs by matching words and switches the heat map to a signed score", async () => {
    const { doc } = await savedBrowser(H * C, 0);
    const { host } = await render(doc);
    const input = host.querySelector(".nhb-query") as HTMLInputElement;
    input.value = "yellow";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await until(host, () => (host.querySelector(".nhb-score-select") as HTMLSelectElement).value === "query similarity");
    expect(host.querySelector(".nhb-toplist .nhb-h")!.textContent).toBe('Best pairs for "yellow"');
    expect(host.querySelector(".nhb-status")!.textContent).toMatch(/offline: \d+ embedded pair\(s\) have a word matching "yellow"/);
    const values = Array.from(host.querySelectorAll(".nhb-toplist .nhb-val")).map((v) => Number(v.textContent));
    expect(values.length).toBeGreaterThan(0);
    expect([...values].sort((a, b) => b - a)).toEqual(values);
  });

  it("a query in the saved state (set from the kernel) is ranked when the view renders", async () => {
    const { doc } = await savedBrowser(H * C, 0);
    const entry = (doc as { state: Record<string, { state: Record<string, unknown> }> }).state["model-1"];
    entry.state.query = "yellow";
    const { host } = await render(doc);
    await until(host, () => host.querySelector(".nhb-toplist .nhb-h")?.textContent === 'Best pairs for "yellow"');
    expect((host.querySelector(".nhb-query") as HTMLInputElement).value).toBe("yellow");
    expect((host.querySelector(".nhb-score-select") as HTMLSelectElement).value).toBe("query similarity");
  });

  it("a pair not embedded in a read-only page still shows its scores and says why images are missing", async () => {
    const { doc } = await savedBrowser(5, 0);
    const { host, model } = await render(doc);
    const emb = new Set(model.typed("offline").pairs.map((p) => p.head * C + p.neuron));
    let key = 0;
    while (emb.has(key)) key++;
    clickCanvas(host, (key % C) + 0.5, Math.floor(key / C) + 0.5);
    await until(host, () => !!host.querySelector(".nhb-detail"));
    expect(host.querySelector(".nhb-status")!.textContent).toMatch(/^pair not embedded — read-only page: \d+ of 240 pairs embedded/);
    expect(host.querySelector(".nhb-scores")!.textContent).toContain("sparsity score:");
    expect(host.querySelectorAll(".nhb-detail img").length).toBe(0);
  });

  it("zoom and sort change the drawn window and keep clicks mapped to the right neuron", async () => {
    const { doc } = await savedBrowser(H * C, 0);
    const { host, model } = await render(doc);
    const from = host.querySelector(".nhb-from") as HTMLInputElement, to = host.querySelector(".nhb-to") as HTMLInputElement;
    from.value = "10"; to.value = "20";
    from.dispatchEvent(new Event("change"));
    const canvas = host.querySelector("canvas") as HTMLCanvasElement;
    expect(canvas.width).toBe(10);
    expect(host.querySelector(".nhb-axis")!.textContent).toContain("neurons 10–19 of 40");
    clickCanvas(host, 3.5, 0.5);
    await until(host, () => model.get("selected_neuron") === 13);
    const sort = host.querySelector(".nhb-sort") as HTMLInputElement;
    sort.checked = true;
    sort.dispatchEvent(new Event("change"));
    (host.querySelector(".nhb-reset") as HTMLButtonElement).click();
    expect(canvas.width).toBe(C);
    const first = model.scoreMatrix("contribution norm")!;
    const maxOf = (n: number) => Math.max(...Array.from({ length: H }, (_, h) => first[h * C + n]));
    let best = 0;
    for (let n = 1; n < C; n++) if (maxOf(n) > maxOf(best)) best = n;
    clickCanvas(host, 0.5, 0.5); // column 0 = neuron with the largest max
    await until(host, () => model.get("selected_neuron") === best);
  });

  it("hover shows a tooltip naming the pair and its value; the mouse wheel zooms around the pointer", async () => {
    const { doc } = await savedBrowser(0, 0);
    const { host, model } = await render(doc);
    const canvas = host.querySelector("canvas") as HTMLCanvasElement;
    const move = new MouseEvent("mousemove", { bubbles: true });
    Object.defineProperty(move, "offsetX", { value: 12.5 });
    Object.defineProperty(move, "offsetY", { value: 3.5 });
    canvas.dispatchEvent(move);
    const tip = host.querySelector(".nhb-tooltip") as HTMLElement;
    const v = model.scoreMatrix("contribution norm")![3 * C + 12];
    expect(tip.style.display).toBe("block");
    expect(tip.textContent).toBe(`head 3 · neuron 12 · contribution norm ${fmtValue(v)}`);
    canvas.dispatchEvent(new MouseEvent("mouseleave"));
    expect(tip.style.display).toBe("none");
    const wheel = new WheelEvent("wheel", { deltaY: -100, bubbles: true, cancelable: true });
    Object.defineProperty(wheel, "offsetX", { value: 20 });
    canvas.dispatchEvent(wheel);
    expect(wheel.defaultPrevented).toBe(true);
    expect(canvas.width).toBe(32); // 40 × 0.8, centred on the pointer (neuron 20)
    expect([(host.querySelector(".nhb-from") as HTMLInputElement).value, (host.querySelector(".nhb-to") as HTMLInputElement).value]).toEqual(["4", "36"]);
  });

  it("neuron view shows every head of the neuron; head view lists its top neurons", async () => {
    const { doc } = await savedBrowser(H * C, 0);
    const { host } = await render(doc);
    clickCanvas(host, 3.5, 1.5);
    await until(host, () => !!host.querySelector(".nhb-neuron-btn"));
    (host.querySelector(".nhb-neuron-btn") as HTMLButtonElement).click();
    await until(host, () => !!host.querySelector(".nhb-neuronview"));
    expect(host.querySelectorAll(".nhb-column").length).toBe(H);
    expect(host.querySelector(".nhb-neuronview .nhb-h")!.textContent).toBe(`Neuron 3: all ${H} heads (sub-concepts)`);
    expect(host.querySelectorAll(".nhb-neuronview img").length).toBe(H * 4);
    (host.querySelector(".nhb-head-btn") as HTMLButtonElement).click();
    await until(host, () => !!host.querySelector(".nhb-headview"));
    expect(host.querySelectorAll(".nhb-headrow").length).toBe(12);
  });

  it("text labels: signed OMP words of the pair and its neuron, TextSpan texts of heads (offline page)", async () => {
    const { doc } = await savedBrowser(H * C, 0, true);
    const { host } = await render(doc);
    clickCanvas(host, 7.5, 2.5);
    await until(host, () => !!host.querySelector(".nhb-omp-pair"));
    // synthetic labels: unit u has words u, u+1, u+2 with γ = +0.5, −0.25, +0.125 (src/browser/synthetic.ts)
    const words = (sel: string) => Array.from(host.querySelectorAll(`${sel} li`)).map((li) => li.textContent);
    const w = SYNTHETIC_WORDS;
    const u = 2 * C + 7, nu = 7 * 7 + 1;
    const signed = (word: string, c: number) => `${word} ${c >= 0 ? "+" : "−"}${fmtValue(Math.abs(c))}`;
    const pairWords = [signed(w[u % 20], 0.5), signed(w[(u + 1) % 20], -0.25), signed(w[(u + 2) % 20], 0.125)];
    expect(words(".nhb-detail .nhb-omp-pair")).toEqual(pairWords);
    expect(host.querySelector(".nhb-detail .nhb-omp-pair .nhb-neg")!.textContent).toMatch(/^ −/);
    expect(words(".nhb-detail .nhb-omp-neuron")[0]).toBe(`${w[nu % 20]} +${fmtValue(0.5)}`);
    expect(words(".nhb-detail .nhb-textspan")).toEqual([`${w[6 % 20]} 40.0%`, `${w[7 % 20]} 20.0%`]);
    (host.querySelector(".nhb-neuron-btn") as HTMLButtonElement).click();
    await until(host, () => !!host.querySelector(".nhb-neuronview .nhb-omp-neuron"));
    expect(words(".nhb-neuronview .nhb-omp-neuron")[0]).toBe(`${w[nu % 20]} +${fmtValue(0.5)}`);
    (host.querySelector(".nhb-head-btn") as HTMLButtonElement).click();
    await until(host, () => !!host.querySelector(".nhb-headview .nhb-textspan"));
    expect(words(".nhb-headview .nhb-textspan")).toEqual([`${w[6]} 40.0%`, `${w[7]} 20.0%`]);
    // a hostile word in a label is text, never markup
    expect(host.querySelectorAll("img[onerror]").length).toBe(0);
  });

  it("text labels over the live comm: the neuron and head replies carry them", async () => {
    const backend = new BrowserBackend(syntheticSource({ heads: H, neurons: C, dim: D, textLabels: true }));
    const neuron = await backend.handle({ kind: "neuron", id: 1, neuron: 3 });
    const head = await backend.handle({ kind: "head", id: 2, head: 4 });
    const coefficients = neuron.reply.kind === "neuron" && neuron.reply.words?.map((x) => x.coefficient);
    expect(coefficients).toEqual([0.5, -0.25, 0.125]);
    const texts = head.reply.kind === "head" && head.reply.texts?.map((x) => x.text);
    expect(texts).toEqual([SYNTHETIC_WORDS[12], SYNTHETIC_WORDS[13]]);
    const plain = new BrowserBackend(syntheticSource({ heads: H, neurons: C, dim: D }));
    const pair = await plain.handle({ kind: "select", id: 3, head: 1, neuron: 2 });
    expect(pair.reply.kind === "pair" && "textWords" in pair.reply.detail).toBe(false);
  });

  it("live: requests go over the comm with ids, replies come back with buffers; kernel errors show in the status line", async () => {
    const { backend, doc } = await savedBrowser(0, 0);
    const sent: unknown[] = [];
    const { host, model, view } = await render(doc, (m) => {
      // A stand-in comm: the real kernel-side backend answers each custom message asynchronously.
      Object.defineProperty(m, "comm_live", { get: () => true });
      (m as unknown as { send: (c: unknown) => void }).send = (content: unknown) => {
        sent.push(content);
        void backend.handle(content).then(({ reply, buffers }) => {
          const views = buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength));
          m.trigger("msg:custom", reply, views);
        });
      };
      (m as unknown as { save_changes: () => void }).save_changes = () => undefined;
    });
    clickCanvas(host, 5.5, 4.5);
    await until(host, () => !!host.querySelector(".nhb-detail"));
    expect(sent[0]).toEqual({ kind: "select", head: 4, neuron: 5, id: 1 });
    expect(host.querySelectorAll(".nhb-detail img").length).toBe(8);

    const input = host.querySelector(".nhb-query") as HTMLInputElement;
    input.value = "butterfly";
    (host.querySelector(".nhb-rank") as HTMLButtonElement).click();
    await until(host, () => model.get("query") === "butterfly");
    const { top, matrix } = await backend.rankQuery("butterfly");
    const shown = Array.from(host.querySelectorAll(".nhb-toplist .nhb-link")).map((b) => b.textContent);
    expect(shown.slice(0, 3)).toEqual(top.slice(0, 3).map((p) => `head ${p.head} · neuron ${p.neuron}`));
    expect(matrix.length).toBe(H * C);

    // The kernel rejects an out-of-range pair: the error reply reaches the status line.
    void view.selectAsync(H + 3, 0);
    await until(host, () => host.querySelector(".nhb-status")!.classList.contains("nhb-error"));
    expect(host.querySelector(".nhb-status")!.textContent).toBe(`error: head ${H + 3} is out of range: head index must be in [0, ${H - 1}]`);
  });
});

