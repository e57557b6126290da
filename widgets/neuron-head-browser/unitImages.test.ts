// @vitest-environment jsdom
/**
 * jsdom tests of the neuron and head views with units' own top images (BrowserSource.unitImages, issue 11): on a
 * read-only page (saved state → LocalResponder) the neuron view shows the neuron's own top images above its heads'
 * pairs, and the head view the head's own images, all from the embedded offline units.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { syntheticSource } from "../../src/browser/synthetic";
import { BrowserBackend } from "../../src/browser/backend";
import { browserWidgetState, savedStateDocument } from "../../src/browser/state";
import { BrowserModule, SavedStateManager, loadBrowserWidget } from "./testing";

let browser: BrowserModule;
let Manager: SavedStateManager;
beforeAll(async () => {
  ({ browser, Manager } = await loadBrowserWidget());
}, 120_000);

const H = 5, C = 30, D = 16;

async function renderSaved(backend: BrowserBackend, pairs: number, neurons: number) {
  const off = await backend.buildOffline(pairs, neurons);
  const manager = new Manager();
  const [model] = await manager.set_state(savedStateDocument("m", browserWidgetState(backend, off)));
  const host = document.createElement("div");
  document.body.appendChild(host);
  host.appendChild(((await manager.create_view(model)) as { el: HTMLElement }).el);
  return { host, off };
}

async function until(host: HTMLElement, cond: () => boolean, ms = 5000) {
  const t0 = Date.now();
  for (;;) {
    const root = host.querySelector(".nhb-root") as HTMLElement | null;
    if (root && (root.dataset.busy ?? "0") === "0" && cond()) return;
    if (Date.now() - t0 > ms) throw new Error(`timed out; page text: ${host.textContent?.slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const titles = (host: HTMLElement, sel: string) =>
  Array.from(host.querySelectorAll(`${sel} img`)).map((i) => (i as HTMLImageElement).title.split(" ")[0]);

describe("neuron and head views with units' own top images (read-only page)", () => {
  it("the neuron view shows the neuron's own images, then each head's pair images, as the kernel ranked " +
      "them", async () => {
    const source = syntheticSource({ heads: H, neurons: C, dim: D, unitImages: true });
    const backend = new BrowserBackend(source);
    const { host, off } = await renderSaved(backend, 20, C); // every neuron's view embedded
    const units = off.index.units!;
    expect(units.ranking).toBe("synthetic norm");
    expect(units.heads.map((v) => v.head)).toEqual([0, 1, 2, 3, 4]);
    expect(units.neurons).toHaveLength(C);
    // The kernel's live answer carries the same own images.
    const live = await backend.handle({ kind: "neuron", id: 1, neuron: 7 });
    expect(live.reply.kind === "neuron" && live.reply.own!.images.map((im) => im.id)).toEqual(
      source.unitImages!({ neuron: 7 }, 8).map((im) => im.id),
    );
    // Through the UI: the first pair of the top list → its neuron view → its head view.
    (host.querySelector(".nhb-toplist .nhb-link") as HTMLButtonElement).click();
    await until(host, () => !!host.querySelector(".nhb-neuron-btn"));
    const [, head, neuron] = /head (\d+) · neuron (\d+)/
      .exec(host.querySelector(".nhb-detail .nhb-h")!.textContent!)!
      .map(Number);
    (host.querySelector(".nhb-neuron-btn") as HTMLButtonElement).click();
    await until(host, () => !!host.querySelector(".nhb-neuronview"));
    expect(host.querySelector(".nhb-neuronview .nhb-own .nhb-sub")!.textContent).toBe(
      `Neuron ${neuron}'s own top images (by synthetic norm)`,
    );
    expect(titles(host, ".nhb-neuronview .nhb-own")).toEqual(source.unitImages!({ neuron }, 8).map((im) => im.id));
    const cols = Array.from(host.querySelectorAll(".nhb-neuronview .nhb-column"));
    expect(cols).toHaveLength(H);
    cols.forEach((col, h) => {
      const ids = Array.from(col.querySelectorAll("img")).map((i) => (i as HTMLImageElement).title.split(" ")[0]);
      expect(ids).toEqual(source.unitImages!({ neuron, head: h }, 4).map((im) => im.id));
    });
    (host.querySelector(".nhb-head-btn") as HTMLButtonElement).click();
    await until(host, () => !!host.querySelector(".nhb-headview"));
    expect(host.querySelector(".nhb-headview .nhb-own .nhb-sub")!.textContent).toBe(
      `Head ${head}'s own top images (by synthetic norm)`,
    );
    expect(titles(host, ".nhb-headview .nhb-own")).toEqual(source.unitImages!({ head }, 8).map((im) => im.id));
  });

  it("without unit rankings (older sources, pages) the views look as before: no own-images strip", async () => {
    const backend = new BrowserBackend(syntheticSource({ heads: H, neurons: C, dim: D }));
    const { host, off } = await renderSaved(backend, H * C, 0);
    expect(off.index.units).toBeUndefined();
    (host.querySelector(".nhb-toplist .nhb-link") as HTMLButtonElement).click();
    await until(host, () => !!host.querySelector(".nhb-neuron-btn"));
    (host.querySelector(".nhb-neuron-btn") as HTMLButtonElement).click();
    await until(host, () => !!host.querySelector(".nhb-neuronview"));
    expect(host.querySelector(".nhb-own")).toBeNull();
    expect(host.querySelectorAll(".nhb-neuronview .nhb-column")).toHaveLength(H);
  });
});
