/**
 * The real BrowserSource's unit images (issue 11): the neuron view's own images and its pairs' columns, and the head
 * view's own images, from a collection made by the fake model — by default the collection's stored centred top-k,
 * with `unitTopImages` the raw-norm retrieval (checked against a brute-force sort of materialised contributions).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserBackend } from "../src/browser/backend";
import { browserSourceFrom } from "../src/browser/source";
import { Collection, collect } from "../src/collect";
import { unitTopImages } from "../src/analysis/topImages";
import { runCli } from "./cli-helpers";
import { fakeModel, sharpLoader, writeImageFolder } from "./collect.fake";
import { bruteTop, naiveNorms } from "./topimages-reference";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-browser-units-"));
const model = fakeModel();
let col: Collection;

beforeAll(async () => {
  await writeImageFolder(path.join(tmp, "images"), 16);
  col = await collect({
    model,
    images: path.join(tmp, "images"),
    outDir: path.join(tmp, "col"),
    batchSize: 4,
    topK: 8,
    loadPixels: sharpLoader,
  });
});

afterAll(() => { col?.close(); fs.rmSync(tmp, { recursive: true, force: true }); });

type NeuronReply = {
  kind: "neuron";
  heads: { head: number; images: { id: string }[] }[];
  own?: { images: { id: string }[]; ranking: string };
};
type HeadReply = { kind: "head"; own?: { images: { id: string }[]; ranking: string } };

describe("neuron and head views of a collection", () => {
  it("default: the collection's stored centred lists (neuron's own, each pair's, the head's)", async () => {
    const backend = new BrowserBackend(await browserSourceFrom(model, col, { vocabulary: [] }));
    const n = (await backend.handle({ kind: "neuron", id: 1, neuron: 9 })).reply as NeuronReply;
    expect(n.own!.ranking).toBe("centred norm ‖r(I) − r(s̄)‖");
    expect(n.own!.images.map((im) => im.id)).toEqual(Array.from(col.topNeuron(9).rows, (r) => col.ids[r]));
    for (const c of n.heads)
      expect(c.images.map((im) => im.id)).toEqual(
        Array.from(col.topPair({ neuron: 9, head: c.head }).rows.slice(0, 4), (r) => col.ids[r]),
      );
    const h = (await backend.handle({ kind: "head", id: 2, head: 3 })).reply as HeadReply;
    expect(h.own!.images.map((im) => im.id)).toEqual(Array.from(col.topHead(3).rows, (r) => col.ids[r]));
  });

  it("with the raw-norm retrieval: its lists (= a brute-force sort of ‖r(I)‖), embedded in the offline page " +
      "too", async () => {
    const lists = await unitTopImages(col, await col.decomposition(), { k: 8, norm: "raw" });
    const backend = new BrowserBackend(await browserSourceFrom(model, col, { vocabulary: [], unitTopImages: lists }));
    const naive = naiveNorms(
      col.weights,
      Array.from({ length: col.N }, (_, i) => col.coefficientsOf(i)),
    );
    const ids = (rows: number[]) => rows.map((r) => col.ids[r]);
    const n = (await backend.handle({ kind: "neuron", id: 1, neuron: 9 })).reply as NeuronReply;
    expect(n.own!.ranking).toBe("raw norm ‖r(I)‖");
    expect(n.own!.images.map((im) => im.id)).toEqual(ids(bruteTop(col.N, (i) => naive[i].neuron[9], 8).rows));
    for (const c of n.heads)
      expect(c.images.map((im) => im.id)).toEqual(
        ids(bruteTop(col.N, (i) => naive[i].pair[c.head * col.C + 9], 4).rows),
      );
    const h = (await backend.handle({ kind: "head", id: 2, head: 1 })).reply as HeadReply;
    expect(h.own!.images.map((im) => im.id)).toEqual(ids(bruteTop(col.N, (i) => naive[i].head[1], 8).rows));
    const off = await backend.buildOffline(5, 2);
    expect(off.index.units!.ranking).toBe("raw norm ‖r(I)‖");
    expect(off.index.units!.heads).toHaveLength(col.H);
    const first = off.index.units!.neurons[0];
    expect(first.own.map((im) => im.id)).toEqual(ids(bruteTop(col.N, (i) => naive[i].neuron[first.neuron], 8).rows));
    expect(first.heads).toHaveLength(col.H);
  });

  it("export-browser --unit-norm raw embeds the raw-ranked neuron and head views; a bad norm is refused", async () => {
    const out = path.join(tmp, "page.html");
    const run = (...a: string[]) =>
      runCli(
        "export-browser",
        "--collection",
        path.join(tmp, "col"),
        "--no-words",
        "--pairs",
        "4",
        "--neurons",
        "2",
        "--quiet",
        ...a,
      );
    await run("--out", out, "--unit-norm", "raw");
    const html = fs.readFileSync(out, "utf8");
    const state = JSON.parse(
      /<script type="application\/vnd.jupyter.widget-state\+json">([\s\S]*?)<\/script>/.exec(html)![1],
    );
    const units = (
      Object.values(state.state)[0] as {
        state: { offline: { units: { ranking: string; heads: unknown[]; neurons: unknown[] } } };
      }
    ).state.offline.units;
    expect(units.ranking).toBe("raw norm ‖r(I)‖");
    expect([units.heads.length, units.neurons.length]).toEqual([col.H, 2]);
    await expect(run("--out", path.join(tmp, "p2.html"), "--unit-norm", "max")).rejects.toThrow(
      'norm must be "raw" or "centred", got "max"',
    );
  });

  it("refuses top images computed on another collection", async () => {
    const other = await unitTopImages(
      { N: 3, H: col.H, C: col.C, row: () => new Float32Array(col.H * col.C) },
      await col.decomposition(),
      { k: 2 },
    );
    await expect(browserSourceFrom(model, col, { vocabulary: [], unitTopImages: other })).rejects.toThrow(
      /over 3 images, not this collection's/,
    );
  });
});
