/**
 * Kernel-side half of an ipywidgets-protocol (v2.1, ipywidgets 8 / @jupyter-widgets/base 6) widget model, for the
 * clip-nad kernel. A WidgetModel opens a comm on target `jupyter.widget` with its full state, is displayed with
 * the `application/vnd.jupyter.widget-view+json` mime type, applies `update`s from the front end, answers
 * `request_state`, and exchanges `custom` messages (with binary buffers). Binary values anywhere in the state
 * (typed arrays, ArrayBuffers) travel as buffers with `buffer_paths`, as the protocol asks.
 * DOM-free and TS 5.0 syntax: notebooks import it directly.
 */
import { BufferLike, Comm, CommData, CommMessage, kernelTransport, openComm, registerTarget } from "./comm";

export const WIDGET_PROTOCOL_VERSION = "2.1.0";
export const WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json";

export type WidgetState = { [key: string]: unknown };
export type StatePath = (string | number)[];

/** Which front-end model/view classes render this widget. */
export interface WidgetSpec {
  modelName: string;
  modelModule: string;
  modelModuleVersion: string;
  viewName?: string | null;
  viewModule?: string;
  viewModuleVersion?: string;
}

export type ChangeSource = "frontend" | "kernel";
export type ChangeHandler = (changed: WidgetState, source: ChangeSource) => void;
export type CustomHandler = (content: CommData, buffers: Uint8Array[]) => void | Promise<void>;

function isBinary(v: unknown): v is BufferLike {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

/** Move binary leaves out of `state` (deep copy of containers), returning the JSON part, paths and buffers. */
export function splitBuffers(state: WidgetState): { state: WidgetState; bufferPaths: StatePath[]; buffers: BufferLike[] } {
  const bufferPaths: StatePath[] = [];
  const buffers: BufferLike[] = [];
  const walk = (v: unknown, path: StatePath): unknown => {
    if (isBinary(v)) {
      bufferPaths.push(path);
      buffers.push(v);
      return null;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v !== null && typeof v === "object") {
      const out: WidgetState = {};
      for (const [k, x] of Object.entries(v as WidgetState)) out[k] = walk(x, [...path, k]);
      return out;
    }
    return v;
  };
  return { state: walk(state, []) as WidgetState, bufferPaths, buffers };
}

/** Put buffers back at their paths (inverse of splitBuffers; mutates `state`). */
export function mergeBuffers(state: WidgetState, bufferPaths: StatePath[], buffers: Uint8Array[]): WidgetState {
  bufferPaths.forEach((path, i) => {
    if (!Array.isArray(path) || path.length === 0 || i >= buffers.length) return;
    let obj: { [k: string]: unknown } = state;
    for (const key of path.slice(0, -1)) {
      const next = obj[key as string];
      if (next === null || typeof next !== "object") return;
      obj = next as { [k: string]: unknown };
    }
    obj[path[path.length - 1] as string] = buffers[i];
  });
  return state;
}

/** Live widget models of this kernel, by model id (for the `jupyter.widget.control` target). */
const liveModels = new Map<string, WidgetModel>();
let controlRegistered = false;

/** ipywidgets 8 front ends restore all widgets after a page reload by asking `jupyter.widget.control`. */
function ensureControlTarget(): void {
  if (controlRegistered) return;
  controlRegistered = true;
  registerTarget("jupyter.widget.control", (comm: Comm) => {
    comm.onMsg((msg: CommMessage) => {
      if (msg.data.method !== "request_states") return;
      // Reply shape of ipywidgets 8 (Widget._handle_control_comm_msg): {model_name, model_module,
      // model_module_version, state} by model id; buffer paths start with [model_id, "state"].
      const states: { [id: string]: WidgetState } = {};
      const flatPaths: StatePath[] = [];
      const flatBufs: BufferLike[] = [];
      liveModels.forEach((m, id) => {
        const split = splitBuffers(m.getState());
        const s = m.spec;
        states[id] = { model_name: s.modelName, model_module: s.modelModule, model_module_version: s.modelModuleVersion, state: split.state };
        split.bufferPaths.forEach((p, i) => {
          flatPaths.push([id, "state", ...p]);
          flatBufs.push(split.buffers[i]);
        });
      });
      comm.send({ method: "update_states", states, buffer_paths: flatPaths }, {}, flatBufs);
    });
  });
}

/** Kernel-side widget model. `S` is the synced state (without the _model_* / _view_* keys). */
export interface WidgetOptions {
  /**
   * Check a front end's `update` before it is applied: return null to accept, or why it is refused. A refused
   * update changes nothing: the front end gets the current values back (an `update`) and a `custom`
   * `{ kind: "error", id: -1, message }`, and the kernel logs it.
   */
  validate?: (changed: WidgetState, current: WidgetState) => string | null;
}

export class WidgetModel<S extends WidgetState = WidgetState> {
  readonly comm: Comm;
  readonly spec: WidgetSpec;
  private state: S;
  private changeHandlers: ChangeHandler[] = [];
  private customHandlers: CustomHandler[] = [];
  private readonly validate?: WidgetOptions["validate"];

  constructor(spec: WidgetSpec, initial: S, opts: WidgetOptions = {}) {
    this.spec = spec;
    this.validate = opts.validate;
    this.state = { ...initial };
    ensureControlTarget();
    const split = splitBuffers(this.getState());
    this.comm = openComm(
      "jupyter.widget",
      { state: split.state, buffer_paths: split.bufferPaths },
      { version: WIDGET_PROTOCOL_VERSION },
      split.buffers,
    );
    liveModels.set(this.comm.commId, this as unknown as WidgetModel);
    this.comm.onMsg((msg) => this.handleFrontend(msg));
    this.comm.onClose(() => {
      liveModels.delete(this.comm.commId);
    });
  }

  /** The model id the front end knows this widget by (= comm id). */
  get modelId(): string {
    return this.comm.commId;
  }

  get<K extends keyof S>(key: K): S[K] {
    return this.state[key];
  }

  /** Full protocol state: the _model_* / _view_* keys plus the synced state. */
  getState(): WidgetState {
    const s = this.spec;
    return {
      _model_name: s.modelName,
      _model_module: s.modelModule,
      _model_module_version: s.modelModuleVersion,
      _view_name: s.viewName === undefined ? null : s.viewName,
      _view_module: s.viewModule === undefined ? s.modelModule : s.viewModule,
      _view_module_version: s.viewModuleVersion === undefined ? s.modelModuleVersion : s.viewModuleVersion,
      _view_count: null,
      ...this.state,
    };
  }

  /** Change synced state here and send an `update` with just these keys (binary values go as buffers). */
  set(patch: Partial<S>): void {
    this.state = { ...this.state, ...patch };
    const split = splitBuffers(patch as WidgetState);
    this.comm.send({ method: "update", state: split.state, buffer_paths: split.bufferPaths }, {}, split.buffers);
    this.emitChange(patch as WidgetState, "kernel");
  }

  /** Send a `custom` message (free-form content + buffers) to the front-end model. */
  sendCustom(content: CommData, buffers?: BufferLike[]): void {
    this.comm.send({ method: "custom", content }, {}, buffers);
  }

  /** State changes: from the front end's `update`s and from set(). */
  onChange(fn: ChangeHandler): void {
    this.changeHandlers.push(fn);
  }

  /** `custom` messages from the front end. */
  onCustom(fn: CustomHandler): void {
    this.customHandlers.push(fn);
  }

  /** The display_data bundle that shows this widget (widget view + text fallback). */
  mimeBundle(): { [mime: string]: unknown } {
    return {
      [WIDGET_VIEW_MIME]: { version_major: 2, version_minor: 0, model_id: this.modelId },
      "text/plain": `${this.spec.modelName}(model_id=${this.modelId})`,
    };
  }

  /** Show the widget in the current cell's output. */
  display(): void {
    const t = kernelTransport();
    if (!t) throw new Error("WidgetModel.display needs the clip-nad kernel");
    t.displayData({ data: this.mimeBundle(), metadata: {}, transient: {} }, false);
  }

  close(): void {
    liveModels.delete(this.modelId);
    this.comm.close();
  }

  private emitChange(changed: WidgetState, source: ChangeSource): void {
    for (const fn of this.changeHandlers) fn(changed, source);
  }

  private handleFrontend(msg: CommMessage): void | Promise<void> {
    const data = msg.data;
    if (data.method === "update") {
      if (data.state === null || typeof data.state !== "object") throw new Error(`widget ${this.modelId}: update without state`);
      const paths = Array.isArray(data.buffer_paths) ? (data.buffer_paths as StatePath[]) : [];
      const changed = mergeBuffers({ ...(data.state as WidgetState) }, paths, msg.buffers);
      const refusal = this.validate?.(changed, this.state);
      if (refusal) {
        const current: WidgetState = {};
        for (const k of Object.keys(changed)) current[k] = (this.state as WidgetState)[k] ?? null;
        const split = splitBuffers(current);
        this.comm.send({ method: "update", state: split.state, buffer_paths: split.bufferPaths }, {}, split.buffers);
        this.sendCustom({ kind: "error", id: -1, message: `update refused: ${refusal}` });
        throw new Error(`widget ${this.modelId}: update refused: ${refusal}`);
      }
      this.state = { ...this.state, ...changed };
      this.emitChange(changed, "frontend");
    } else if (data.method === "request_state") {
      const split = splitBuffers(this.getState());
      this.comm.send({ method: "update", state: split.state, buffer_paths: split.bufferPaths }, {}, split.buffers);
    } else if (data.method === "custom") {
      const content = (data.content || {}) as CommData;
      const pending = this.customHandlers.map((fn) => fn(content, msg.buffers));
      return Promise.all(pending).then(() => undefined);
    } else {
      throw new Error(`widget ${this.modelId}: unknown method ${String(data.method)}`);
    }
  }
}
