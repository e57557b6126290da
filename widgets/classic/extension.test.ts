// @vitest-environment jsdom
/**
 * jsdom tests of the classic-notebook extension against a stand-in for notebook 6.4's kernel API (the shapes of
 * services/kernels/{kernel,comm}.js and outputarea.js): registration of both renderers at the front of the display
 * order, the comm target on the kernel's comm_manager, a kernel-opened browser model (state + binary buffers as
 * DataViews, as the classic kernel delivers them) rendered through the widget-view renderer, a click answered over
 * the classic Comm by the real kernel-side backend, the text shown for a model that is not live, and the plotly
 * renderer drawing through the plotly object requirejs hands it. The real notebook is test/classic-notebook.test.ts.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { syntheticSource } from "../../src/browser/synthetic";
import { BrowserBackend } from "../../src/browser/backend";
import { browserWidgetState } from "../../src/browser/state";
import { shimJsdom } from "../neuron-head-browser/testing";

shimJsdom();

type Ext = typeof import("./extension");
type Append = (this: unknown, value: unknown, md: unknown, element: unknown) => { 0: HTMLElement };
const H = 6, C = 40, D = 16;

/** jQuery-like wrapper of one element (what the output area passes and create_output_subarea returns). */
const jq = (el: HTMLElement) => ({ 0: el, append(x: { 0: HTMLElement }) { el.appendChild(x[0]); return this; } });
/** The output area as an append function sees it (`this`). */
const outputArea = {
  create_output_subarea(_md: unknown, classes: string) {
    const d = document.createElement("div");
    d.className = `output_subarea ${classes}`;
    return jq(d);
  },
};

/** A classic Comm (comm.js): send/close with callbacks, on_msg/on_close; custom messages answered by the backend. */
class ClassicComm {
  sent: { method?: string; content?: { kind?: string } }[] = [];
  private onMsg?: (msg: unknown) => void;
  constructor(readonly target_name: string, readonly comm_id: string, private readonly backend: BrowserBackend) {}
  open(): string { return "open"; }
  on_msg(cb: (msg: unknown) => void): void { this.onMsg = cb; }
  on_close(): void { /* not closed in these tests */ }
  close(): string { return "close"; }
  send(data: { method?: string; content?: unknown }): string {
    this.sent.push(data as ClassicComm["sent"][number]);
    if (data.method === "custom") {
      void this.backend.handle(data.content).then(({ reply, buffers }) =>
        this.onMsg?.({
          header: { msg_type: "comm_msg" },
          metadata: {},
          content: { comm_id: this.comm_id, data: { method: "custom", content: reply } },
          buffers: buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength)),
        }),
      );
    }
    return "msg";
  }
}

let ext: Ext;
const registered: { mime: string; append: Append; opts: { safe: boolean; index: number } }[] = [];
const targets: Record<string, (comm: unknown, msg: unknown) => unknown> = {};
let plotted: { div: HTMLElement; data: unknown; layout: unknown }[] = [];
const backend = new BrowserBackend(syntheticSource({ heads: H, neurons: C, dim: D }));
const comm = new ClassicComm("jupyter.widget", "model-7", backend);

beforeAll(async () => {
  ext = await import("./extension");
  const kernel = {
    comm_manager: {
      register_target: (t: string, f: (comm: unknown, msg: unknown) => unknown) => { targets[t] = f; },
      new_comm: () => { throw new Error("the front end opens no comms in these tests"); },
    },
    comm_info: (_t: string, cb: (r: unknown) => void) => cb({ content: { status: "ok", comms: {} } }),
  };
  const events = { on: () => undefined };
  const outputarea = {
    OutputArea: {
      prototype: {
        register_mime_type: (mime: string, append: Append, opts: { safe: boolean; index: number }) =>
          registered.push({ mime, append, opts }),
      },
    },
  };
  const plotly = {
    newPlot: async (div: HTMLElement, data: unknown, layout: unknown) => {
      plotted.push({ div, data, layout });
    },
  };
  const amdRequire = (deps: string[], ok: (m: unknown) => void, fail: (e: Error) => void) =>
    deps[0] === "./plotly.min" ? setTimeout(() => ok(plotly), 0) : fail(new Error(`unexpected module ${deps[0]}`));
  ext.load({ notebook: { kernel: kernel as never, events } }, outputarea as never, amdRequire);
}, 120_000);

function renderer(mime: string): Append {
  return registered.find((r) => r.mime === mime)!.append;
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms)
      throw new Error(`timed out waiting for ${what}; page: ${document.body.textContent?.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("classic-notebook extension (jsdom, stand-in notebook API)", () => {
  it("registers the widget-view and plotly renderers first in the display order, and the comm target", () => {
    expect(registered.map((r) => [r.mime, r.opts])).toEqual([
      [ext.VIEW_MIME, { safe: true, index: 0 }], [ext.PLOTLY_MIME, { safe: true, index: 0 }],
    ]);
    expect(Object.keys(targets)).toEqual(["jupyter.widget"]);
  });

  it("a kernel-opened browser model renders through the widget-view renderer; a click goes over the classic " +
      "comm", async () => {
    const ws = browserWidgetState(backend);
    await targets["jupyter.widget"](comm, {
      header: { msg_type: "comm_open" },
      metadata: { version: "2.1.0" },
      content: {
        comm_id: comm.comm_id,
        target_name: "jupyter.widget",
        data: { state: ws.state, buffer_paths: ws.buffers.map((b) => b.path) },
      },
      buffers: ws.buffers.map((b) => new DataView(b.data.buffer, b.data.byteOffset, b.data.byteLength)),
    });
    const element = document.createElement("div");
    document.body.appendChild(element);
    const out = renderer(ext.VIEW_MIME).call(outputArea, { model_id: comm.comm_id, version_major: 2 }, {}, jq(element));
    expect(out[0].parentElement).toBe(element);
    expect(out[0].className).toContain("clip-nad-widget-view");
    await until(() => !!element.querySelector(".nhb-canvas"), "the browser view");
    expect(element.querySelector(".nhb-title")!.textContent).toMatch(new RegExp(`${H} heads × ${C} neurons$`));

    const canvas = element.querySelector("canvas") as HTMLCanvasElement;
    const click = new MouseEvent("click", { bubbles: true });
    Object.defineProperty(click, "offsetX", { value: 7.5 });
    Object.defineProperty(click, "offsetY", { value: 2.5 });
    canvas.dispatchEvent(click);
    await until(() => element.querySelectorAll(".nhb-detail img").length > 0, "the pair panel");
    expect(element.querySelector(".nhb-detail .nhb-h")!.textContent).toBe("Pair: head 2 · neuron 7");
    const custom = comm.sent.filter((m) => m.method === "custom").map((m) => m.content);
    expect(custom[0]).toMatchObject({ kind: "select", head: 2, neuron: 7 });
  });

  it("a widget-view output whose model is not live says to run the cell again", async () => {
    const element = document.createElement("div");
    const out = renderer(ext.VIEW_MIME).call(outputArea, { model_id: "gone", version_major: 2 }, {}, jq(element));
    await until(() => !!out[0].querySelector(".clip-nad-widget-missing"), "the message", 8000);
    expect(out[0].textContent).toMatch(/the widget is not live \(no live widget model gone\); run the cell again/);
  });

  it("the plotly renderer draws the figure JSON with the plotly.js it loads once", async () => {
    plotted = [];
    const fig = { data: [{ type: "bar", x: ["a"], y: [1] }], layout: { height: 300 } };
    const element = document.createElement("div");
    const out = renderer(ext.PLOTLY_MIME).call(outputArea, fig, {}, jq(element));
    renderer(ext.PLOTLY_MIME).call(outputArea, { data: [] }, {}, jq(element));
    await until(() => plotted.length === 2, "two plots");
    expect(plotted[0].div.parentElement).toBe(out[0]);
    expect(plotted[0].div.style.minHeight).toBe("300px");
    expect([plotted[0].data, plotted[0].layout]).toEqual([fig.data, fig.layout]);
  });
});
