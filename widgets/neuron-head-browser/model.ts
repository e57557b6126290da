/**
 * NeuronHeadBrowserModel: the synced state of the browser. Small JSON traits plus two binary traits that travel
 * as buffers — `scores` (names × H × C float32) and `offline_blob` (the thumbnails of the read-only data).
 */
import { DOMWidgetModel, ISerializers } from "@jupyter-widgets/base";
import { BROWSER_MODEL, BROWSER_VIEW, BrowserStateJSON } from "../../src/browser/protocol";
import { MODULE_NAME, MODULE_VERSION } from "./version";

/** Bytes of a buffer as the widget manager hands them over (DataView from comms/saved state, or ArrayBuffer). */
export function bytesOf(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return new Uint8Array(0);
}

/** Float32 view of a buffer; copies when the byte offset is not 4-aligned. */
export function float32Of(v: unknown): Float32Array {
  if (v instanceof Float32Array) return v;
  const b = bytesOf(v);
  if (b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, Math.floor(b.byteLength / 4));
  return new Float32Array(b.slice().buffer, 0, Math.floor(b.byteLength / 4));
}

const toView = (a: ArrayBufferView | null | undefined) => (a ? new DataView(a.buffer, a.byteOffset, a.byteLength) : null);

/** The typed state the view reads: the kernel's JSON state plus the decoded binary traits. */
export interface BrowserModelState extends BrowserStateJSON {
  scores: Float32Array;
  offline_blob: Uint8Array;
}

export class NeuronHeadBrowserModel extends DOMWidgetModel {
  defaults() {
    return {
      ...super.defaults(),
      _model_name: BROWSER_MODEL,
      _model_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_name: BROWSER_VIEW,
      _view_module: MODULE_NAME,
      _view_module_version: MODULE_VERSION,
      title: "",
      heads: 0,
      neurons: 0,
      score_names: [],
      score_signed: [],
      score_name: "",
      scores: new Float32Array(0),
      selected_head: -1,
      selected_neuron: -1,
      query: "",
      ranking: [],
      status: "",
      error: "",
      offline: { pairs: [], spans: [], note: "" },
      offline_blob: new Uint8Array(0),
    };
  }

  static serializers: ISerializers = {
    ...DOMWidgetModel.serializers,
    scores: { deserialize: (v: unknown) => float32Of(v), serialize: toView },
    offline_blob: { deserialize: (v: unknown) => bytesOf(v), serialize: toView },
  };

  /** Typed read of a state trait. */
  typed<K extends keyof BrowserModelState>(key: K): BrowserModelState[K] {
    return this.get(key) as BrowserModelState[K];
  }

  /** The H × C matrix of one synced score (a view into `scores`), or null for an unknown name. */
  scoreMatrix(name: string): Float32Array | null {
    const i = this.typed("score_names").indexOf(name);
    const hc = this.typed("heads") * this.typed("neurons");
    const all = this.typed("scores");
    if (i < 0 || all.length < (i + 1) * hc) return null;
    return all.subarray(i * hc, (i + 1) * hc);
  }
}
