/** The browser's CSS, injected once per document (keeps the bundles free of CSS loaders). */
const CSS = `
.nhb-root { font: 13px/1.35 system-ui, sans-serif; color: #222; max-width: 1100px; }
.nhb-title { font-weight: 600; font-size: 14px; margin-bottom: 4px; }
.nhb-toolbar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 4px; }
.nhb-toolbar input[type=number] { width: 64px; }
.nhb-toolbar input[type=text] { width: 180px; }
.nhb-status { min-height: 18px; font-size: 12px; color: #555; }
.nhb-status.nhb-error { color: #b00020; font-weight: 600; }
.nhb-heatmap { margin: 4px 0; }
.nhb-plot { position: relative; }
.nhb-marker { position: absolute; box-sizing: border-box; min-width: 4px; border: 2px solid #e00; outline: 1px solid #fff; pointer-events: none; }
.nhb-canvas { width: 100%; image-rendering: pixelated; cursor: crosshair; display: block; border: 1px solid #ccc; }
.nhb-tooltip { position: absolute; pointer-events: none; background: rgba(20,20,20,.85); color: #fff; padding: 2px 6px; border-radius: 3px; font-size: 12px; white-space: nowrap; }
.nhb-axis { font-size: 11px; color: #666; }
.nhb-body { display: flex; gap: 12px; align-items: flex-start; }
.nhb-toplist { flex: 0 0 230px; max-height: 420px; overflow: auto; }
.nhb-toplist ol { margin: 0; padding-left: 26px; }
.nhb-detail { flex: 1; min-width: 0; }
.nhb-h { font-weight: 600; margin: 6px 0 3px; }
.nhb-sub { font-size: 12px; color: #555; margin-top: 6px; }
.nhb-scores { display: flex; gap: 12px; flex-wrap: wrap; }
.nhb-wordcols { display: flex; gap: 24px; }
.nhb-words ul { margin: 0; padding-left: 16px; }
.nhb-word { font-family: ui-monospace, monospace; }
.nhb-val { color: #777; font-size: 11px; }
.nhb-neg { color: #a33; }
.nhb-textlabels { margin-top: 4px; }
.nhb-textspan ol { margin: 0; padding-left: 20px; }
.nhb-thumbs { display: flex; flex-wrap: wrap; gap: 4px; }
.nhb-thumb { margin: 0; width: 72px; text-align: center; font-size: 10px; overflow: hidden; }
.nhb-thumb img { width: 64px; height: 64px; image-rendering: auto; border: 1px solid #ddd; }
.nhb-small .nhb-thumb { width: 52px; }
.nhb-small .nhb-thumb img { width: 48px; height: 48px; }
.nhb-noimg { width: 64px; height: 64px; background: #eee; color: #999; display: flex; align-items: center; justify-content: center; }
.nhb-columns { display: flex; gap: 8px; overflow-x: auto; }
.nhb-column { flex: 0 0 auto; width: 112px; }
.nhb-headrow { display: flex; gap: 8px; align-items: center; }
.nhb-own { margin: 2px 0 8px; padding-bottom: 6px; border-bottom: 1px solid #eee; }
.nhb-link { background: none; border: none; color: #0645ad; cursor: pointer; padding: 0; font: inherit; text-align: left; }
.nhb-btn { margin-left: 6px; font-size: 12px; }
`;

export function injectStyle(doc: Document): void {
  if (doc.getElementById("clip-nad-nhb-style")) return;
  const style = doc.createElement("style");
  style.id = "clip-nad-nhb-style";
  style.textContent = CSS;
  doc.head.appendChild(style);
}
