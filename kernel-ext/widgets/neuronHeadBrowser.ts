/**
 * Kernel side of the neuron-head browser: `neuronHeadBrowser(model, collection, options)` builds the data source,
 * opens the widget (kernel-ext/widget.ts WidgetModel, binary traits as buffers) and answers the view's custom
 * messages with BrowserBackend. A bad request or a failing source becomes an error reply plus the `error` trait
 * (shown in the view's status line); the kernel keeps running.
 *
 *   import { neuronHeadBrowser } from "../kernel-ext/widgets/neuronHeadBrowser";
 *   const browser = await neuronHeadBrowser(model, openCollection("build/toy-collection"));
 *   browser.display();
 */
import { ClipModel } from "../../src/clip/types";
import { Collection } from "../../src/collect";
import { WidgetModel, WidgetState } from "../widget";
import { BROWSER_MODEL, BROWSER_MODULE, BROWSER_VIEW, BrowserReply, RankedPair } from "../../src/browser/protocol";
import { BrowserBackend, BrowserOptions, BrowserSource } from "../../src/browser/backend";
import { checkFrontendUpdate } from "../../src/browser/logic";
import { EMPTY_OFFLINE, browserWidgetState, widgetModuleVersion } from "../../src/browser/state";
import { BrowserSourceOptions, browserSourceFrom } from "../../src/browser/source";

export interface NeuronHeadBrowserOptions extends BrowserOptions, BrowserSourceOptions {
  /**
   * Read-only data embedded in the widget state, so a saved notebook still browses without a kernel:
   * details of the top `offlinePairs` pairs and all heads of the top `offlineNeurons` neurons (0 = none).
   */
  offlinePairs?: number;
  offlineNeurons?: number;
  /** Embed the vocabulary before returning (so the first click is fast). Default true. */
  warmVocabulary?: boolean;
}

/** The displayable browser: the widget model plus the backend (for notebook code and tests). */
export class NeuronHeadBrowser {
  constructor(readonly widget: WidgetModel, readonly backend: BrowserBackend) {}

  /** Show it in the current cell's output. */
  display(): void {
    this.widget.display();
  }

  /** The pair selected in the view (null before any click). */
  get selected(): { head: number; neuron: number } | null {
    const head = this.widget.get("selected_head") as number, neuron = this.widget.get("selected_neuron") as number;
    return head >= 0 && neuron >= 0 ? { head, neuron } : null;
  }

  /** Last query and its best pairs. */
  get ranking(): { query: string; top: RankedPair[] } {
    return { query: this.widget.get("query") as string, top: this.widget.get("ranking") as RankedPair[] };
  }

  /** Rank all pairs for a text from the kernel side; the view's heat map follows via the `query` trait. */
  async rank(text: string): Promise<RankedPair[]> {
    const { top } = await this.backend.rankQuery(text);
    this.widget.set({ query: text, ranking: top });
    return top;
  }

  close(): void {
    this.widget.close();
  }
}

/** Wire a backend to a new widget model (also used directly with a synthetic source). */
export async function browserWidget(source: BrowserSource, options: NeuronHeadBrowserOptions = {}): Promise<NeuronHeadBrowser> {
  const backend = new BrowserBackend(source, options);
  if (options.warmVocabulary !== false) {
    options.onProgress?.("embedding the vocabulary (cached after the first run)");
    await source.vocabulary();
  }
  const pairs = options.offlinePairs ?? 30, neurons = options.offlineNeurons ?? 2;
  const offline = pairs > 0 || neurons > 0 ? await backend.buildOffline(pairs, neurons) : { index: EMPTY_OFFLINE, blob: new Uint8Array(0) };
  const ws = browserWidgetState(backend, offline);
  const state: WidgetState = {};
  for (const [k, v] of Object.entries(ws.state)) if (!k.startsWith("_model_") && !k.startsWith("_view_")) state[k] = v;
  for (const b of ws.buffers) state[b.path[0]] = b.data; // binary traits: WidgetModel sends them as buffers
  const version = widgetModuleVersion();
  const widget = new WidgetModel(
    { modelName: BROWSER_MODEL, modelModule: BROWSER_MODULE, modelModuleVersion: version, viewName: BROWSER_VIEW },
    state,
    { validate: checkFrontendUpdate },
  );
  widget.onCustom(async (content) => {
    const { reply, buffers } = await backend.handle(content);
    widget.sendCustom(reply as unknown as { [key: string]: unknown }, buffers);
    afterReply(widget, reply);
  });
  return new NeuronHeadBrowser(widget, backend);
}

/** Mirror errors and query results into synced traits (status line; notebook code reads `ranking`). */
function afterReply(widget: WidgetModel, reply: BrowserReply): void {
  if (reply.kind === "error") widget.set({ error: reply.message, status: "" });
  else if (reply.kind === "ranking") widget.set({ query: reply.text, ranking: reply.top, error: "", status: `ranked all pairs for "${reply.text}"` });
  else if (widget.get("error")) widget.set({ error: "" });
}

/**
 * The neuron-head browser on a model and a finished collection: heat map of all pairs, top images, words,
 * neuron/head views, text queries. `model` supplies the text tower (queries, words); pass null for a browser
 * without text (then give `textEncoder`).
 */
export async function neuronHeadBrowser(model: ClipModel | null, collection: Collection, options: NeuronHeadBrowserOptions = {}): Promise<NeuronHeadBrowser> {
  return browserWidget(await browserSourceFrom(model, collection, options), options);
}
