/**
 * The classic Jupyter Notebook (6.x, requirejs) front end of clip-nad's widgets: an nbextension with its own widget
 * manager, because the classic notebook's ipywidgets (Debian: 6.0) cannot host @jupyter-widgets/base 6 widgets.
 *
 *  - a ManagerBase (@jupyter-widgets/base-manager, as widgets/page/live.ts) on the classic kernel's comms: it
 *    registers the comm target `jupyter.widget` on `Jupyter.notebook.kernel.comm_manager` (the classic Comm already
 *    has the IClassicComm shape: send/close with callbacks, on_msg, on_close) and opens comms with `new_comm`;
 *  - an output-area renderer for `application/vnd.jupyter.widget-view+json` (the view of a live model; a saved
 *    output whose model is gone says to run the cell again);
 *  - an output-area renderer for `application/vnd.plotly.v1+json` (clip-nad's showFigure bundles), drawing the
 *    figure JSON with plotly.js loaded once, on first use, from this nbextension's folder (plotly.js 4 sets
 *    window.Plotly and does not register with requirejs). Without it the notebook shows the bundle's text/html,
 *    which draws only where plotly.js was inlined into the same page — it comes with the first figure of a kernel
 *    session, so after a page reload with the kernel still running later figures stay empty — and only in trusted
 *    notebooks (an untrusted one sanitizes the scripts away).
 * Only the clip-nad widgets (and @jupyter-widgets/base's own models) are known to this manager.
 *
 * widgets/build.mjs wraps the bundle in an AMD module `define(["base/js/namespace", "notebook/js/outputarea",
 * "require"], …)` that returns `{ load_ipython_extension }` and hides the global `define` from the bundled UMD
 * modules (backbone would otherwise register itself with requirejs instead of exporting).
 */
import "../page/public-path";
import { ManagerBase } from "@jupyter-widgets/base-manager";
import * as base from "@jupyter-widgets/base";
import * as browser from "../neuron-head-browser";

export const VIEW_MIME = "application/vnd.jupyter.widget-view+json";
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

// The parts of the classic notebook's API this extension uses (notebook 6.4: services/kernels/{kernel,comm}.js,
// notebook/js/outputarea.js, base/js/events.js).
interface ClassicMsg {
  header: { msg_type: string };
  content: { [k: string]: unknown };
  metadata: { [k: string]: unknown };
  buffers?: (ArrayBuffer | DataView)[];
}
type ClassicComm = base.IClassicComm;
interface CommManager {
  register_target(target: string, f: (comm: ClassicComm, msg: ClassicMsg) => unknown): void;
  new_comm(
    target: string,
    data: unknown,
    callbacks?: unknown,
    metadata?: unknown,
    commId?: string,
    buffers?: unknown,
  ): ClassicComm;
}
interface ClassicKernel {
  comm_manager: CommManager;
  comm_info(target: string, callback: (reply: ClassicMsg) => void): void;
}
interface ClassicEvents {
  on(names: string, handler: (event: unknown, data?: { kernel?: ClassicKernel }) => void): void;
}
export interface ClassicJupyter { notebook?: { kernel?: ClassicKernel | null; events: ClassicEvents }; }
/** jQuery-wrapped elements, as the output area passes them. */
interface JQ { 0: HTMLElement; append(x: JQ): unknown }
interface OutputAreaInstance { create_output_subarea(md: unknown, classes: string, mime: string): JQ }
type Append = (this: OutputAreaInstance, value: unknown, md: unknown, element: JQ) => JQ;
export interface OutputAreaModule {
  OutputArea: {
    prototype: { register_mime_type(mime: string, append: Append, opts: { safe: boolean; index: number }): void };
  };
}
type AmdRequire = (deps: string[], ok: (...mods: unknown[]) => void, fail: (e: Error) => void) => void;
interface PlotlyLike { newPlot(div: HTMLElement, data: unknown, layout: unknown, config: unknown): Promise<unknown> }

type Modules = Record<string, unknown>;
const MODULES: Record<string, Modules> = {
  [browser.MODULE_NAME]: browser as unknown as Modules,
  "@jupyter-widgets/base": base as unknown as Modules,
};

/** A widget manager on one classic-notebook kernel (the same Kernel object lives on across restarts). */
export class ClassicWidgetManager extends ManagerBase {
  constructor(private readonly kernel: ClassicKernel) {
    super();
    kernel.comm_manager.register_target("jupyter.widget", (comm, msg) =>
      this.handle_comm_open(comm, msg as unknown as Parameters<ManagerBase["handle_comm_open"]>[1]),
    );
  }

  protected async loadClass(
    className: string,
    moduleName: string,
  ): Promise<typeof base.WidgetModel | typeof base.WidgetView> {
    const cls = MODULES[moduleName]?.[className];
    if (!cls)
      throw new Error(
        `widget class ${moduleName}.${className} is not available in the clip-nad classic-notebook extension`,
      );
    return cls as typeof base.WidgetModel;
  }

  protected async _create_comm(
    target: string,
    modelId?: string,
    data?: unknown,
    metadata?: unknown,
    buffers?: ArrayBuffer[] | ArrayBufferView[],
  ): Promise<base.IClassicComm> {
    return this.kernel.comm_manager.new_comm(target, data ?? {}, {}, metadata ?? {}, modelId, buffers);
  }

  protected _get_comm_info(): Promise<{}> {
    return new Promise((resolve) =>
      this.kernel.comm_info("jupyter.widget", (reply) => {
        resolve((reply.content.status === "ok" ? reply.content.comms : {}) as {});
      }),
    );
  }

  /** The model, waiting briefly: a display can arrive while its comm_open is still being handled. */
  async modelWhenReady(modelId: string, timeoutMs = 5000): Promise<base.WidgetModel> {
    const t0 = Date.now();
    for (;;) {
      if (this.has_model(modelId)) return this.get_model(modelId);
      if (Date.now() - t0 > timeoutMs) throw new Error(`no live widget model ${modelId}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Render a view of the model into `host`. */
  async show(modelId: string, host: HTMLElement): Promise<void> {
    const model = await this.modelWhenReady(modelId);
    const view = await this.create_view(model);
    host.appendChild(view.el);
    view.trigger("displayed");
  }
}

let manager: ClassicWidgetManager | undefined;
let managedKernel: ClassicKernel | undefined;

/** The manager of this kernel (a new one when the page's kernel object changed). */
function managerFor(kernel: ClassicKernel): ClassicWidgetManager {
  if (!manager || managedKernel !== kernel) {
    manager = new ClassicWidgetManager(kernel);
    managedKernel = kernel;
  }
  return manager;
}

function renderWidgetView(this: OutputAreaInstance, value: unknown, md: unknown, element: JQ): JQ {
  const toinsert = this.create_output_subarea(md, "output_widget_view clip-nad-widget-view", VIEW_MIME);
  element.append(toinsert);
  const host = toinsert[0];
  const modelId = (value as { model_id?: unknown } | null)?.model_id;
  const say = (text: string) => {
    const p = document.createElement("pre");
    p.className = "clip-nad-widget-missing";
    p.textContent = text;
    host.appendChild(p);
  };
  if (typeof modelId !== "string") say("clip-nad: a widget view output without a model id");
  else if (!manager) say("clip-nad: no kernel is connected; run the cell to show the widget");
  else {
    manager.show(modelId, host).catch((e: Error) => {
      console.error(`clip-nad: cannot show widget ${modelId}`, e);
      say(`clip-nad: the widget is not live (${e.message}); run the cell again to show it`);
    });
  }
  return toinsert;
}

let plotly: Promise<PlotlyLike> | undefined;

function makePlotlyRenderer(amdRequire: AmdRequire): Append {
  return function renderPlotly(this: OutputAreaInstance, value: unknown, md: unknown, element: JQ): JQ {
    const toinsert = this.create_output_subarea(md, "output_plotly clip-nad-plotly-output", PLOTLY_MIME);
    element.append(toinsert);
    const fig = (value ?? {}) as { data?: unknown[]; layout?: { height?: unknown }; config?: unknown };
    const div = document.createElement("div");
    div.className = "clip-nad-plotly-figure";
    div.style.width = "100%";
    div.style.minHeight = `${typeof fig.layout?.height === "number" ? fig.layout.height : 450}px`;
    toinsert[0].appendChild(div);
    plotly ??= new Promise<PlotlyLike>((resolve, reject) => amdRequire(["./plotly.min"], (p) => {
      const P = (p ?? (window as { Plotly?: unknown }).Plotly) as PlotlyLike | undefined;
      if (P && typeof P.newPlot === "function") resolve(P);
      else reject(new Error("plotly.min.js loaded but defined no Plotly"));
    }, reject));
    plotly
      .then((P) => P.newPlot(div, fig.data ?? [], fig.layout ?? {}, fig.config ?? { responsive: true }))
      .catch((e: Error) => {
        plotly = undefined; // try loading again with the next figure
        console.error("clip-nad: cannot draw the plotly figure", e);
        div.textContent = `clip-nad: cannot draw the plotly figure (${e.message})`;
      });
    return toinsert;
  };
}

let loaded = false;

/** load_ipython_extension: register the renderers, and the widget manager on the page's kernel (now and later). */
export function load(Jupyter: ClassicJupyter, outputarea: OutputAreaModule, amdRequire: AmdRequire): void {
  if (loaded) return;
  loaded = true;
  const proto = outputarea.OutputArea.prototype;
  proto.register_mime_type(VIEW_MIME, renderWidgetView, { safe: true, index: 0 });
  proto.register_mime_type(PLOTLY_MIME, makePlotlyRenderer(amdRequire), { safe: true, index: 0 });
  const nb = Jupyter.notebook;
  if (!nb) return;
  if (nb.kernel) managerFor(nb.kernel);
  nb.events.on("kernel_created.Kernel kernel_created.Session", (_e, data) => {
    if (data?.kernel) managerFor(data.kernel);
  });
  // A restarted kernel has no widgets: forget the old models (their views stay on the page, inert).
  nb.events.on("kernel_restarting.Kernel", () => { void manager?.clear_state(); });
  console.log(`clip-nad: classic-notebook widget extension loaded (${browser.MODULE_NAME} ${browser.MODULE_VERSION})`);
}
