/**
 * The browser's widget state as the kernel (live) or `export-browser` (saved) emits it: model/view names,
 * the JSON traits, and the binary traits as buffers at state paths. Also the saved-state documents and the single
 * self-contained HTML page (state + standalone bundle inlined: no CDN, works from file://).
 */
import * as fs from "fs";
import * as path from "path";
import { BROWSER_MODEL, BROWSER_MODULE, BROWSER_VIEW, OfflineIndex } from "./protocol";
import { BrowserBackend } from "./backend";
import { escapeHtml, scriptJson } from "../util/html";

/** Version of the front-end module (widgets/package.json), written as `_model_module_version`. */
export function widgetModuleVersion(): string {
  const file = path.join(__dirname, "..", "..", "widgets", "package.json");
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
}

export interface StateBuffer {
  path: string[];
  data: Uint8Array;
}

/** Full widget state (JSON part, binary traits set to null) plus the buffers that fill the binary traits. */
export interface BrowserWidgetState {
  state: Record<string, unknown>;
  buffers: StateBuffer[];
}

export const EMPTY_OFFLINE: OfflineIndex = { pairs: [], spans: [], note: "" };

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The browser's state for a backend; `offline` (+ blob) embeds read-only data for kernel-less rendering. */
export function browserWidgetState(backend: BrowserBackend, offline?: { index: OfflineIndex; blob: Uint8Array }): BrowserWidgetState {
  const version = widgetModuleVersion();
  const { state, scores } = backend.initialState(offline ? offline.index : EMPTY_OFFLINE);
  return {
    state: {
      _model_name: BROWSER_MODEL, _model_module: BROWSER_MODULE, _model_module_version: version,
      _view_name: BROWSER_VIEW, _view_module: BROWSER_MODULE, _view_module_version: version,
      _view_count: null, _dom_classes: [], tabbable: null, tooltip: null, layout: null,
      ...state,
      scores: null,
      offline_blob: null,
    },
    buffers: [
      { path: ["scores"], data: bytes(scores) },
      { path: ["offline_blob"], data: offline ? offline.blob : new Uint8Array(0) },
    ],
  };
}

/** The `application/vnd.jupyter.widget-state+json` document html-manager reads (buffers base64-encoded). */
export function savedStateDocument(modelId: string, ws: BrowserWidgetState): Record<string, unknown> {
  return {
    version_major: 2,
    version_minor: 0,
    state: {
      [modelId]: {
        model_name: BROWSER_MODEL,
        model_module: BROWSER_MODULE,
        model_module_version: ws.state._model_module_version,
        state: ws.state,
        buffers: ws.buffers.map((b) => ({ path: b.path, encoding: "base64", data: Buffer.from(b.data).toString("base64") })),
      },
    },
  };
}

export { scriptJson } from "../util/html";

/** A single self-contained HTML page: saved widget state + the standalone bundle inlined. */
export function browserPageHtml(opts: { title: string; modelId: string; state: BrowserWidgetState; bundleJs: string }): string {
  const doc = savedStateDocument(opts.modelId, opts.state);
  const view = { version_major: 2, version_minor: 0, model_id: opts.modelId };
  // Inline script: `</script` may not appear literally; `<\/script` means the same inside JS strings/regexps.
  const js = opts.bundleJs.replace(/<\/script/gi, "<\\/script");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(opts.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
<h1 style="font:600 16px system-ui,sans-serif">${escapeHtml(opts.title)}</h1>
<script type="application/vnd.jupyter.widget-state+json">${scriptJson(doc)}</script>
<div class="nhb-host"><script type="application/vnd.jupyter.widget-view+json">${scriptJson(view)}</script></div>
<script>${js}</script>
</body>
</html>
`;
}

/** Where `node widgets/build.mjs` writes the standalone bundle. */
export function standaloneBundlePath(): string {
  return path.join(__dirname, "..", "..", "build", "widgets", "standalone.js");
}
