/**
 * Standalone (no kernel) renderer: finds the widget-state and widget-view script tags of a saved notebook page
 * or of `clip-nad export-browser` output and renders the neuron-head browser with @jupyter-widgets/html-manager.
 * Mirrors html-manager's libembed without its font/CSS imports, so the bundle is one self-contained script.
 */
import "./public-path";
import { HTMLManager } from "@jupyter-widgets/html-manager/lib/htmlmanager";
import * as browser from "../neuron-head-browser";

const STATE = 'script[type="application/vnd.jupyter.widget-state+json"]';
const VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]';

async function loader(name: string): Promise<unknown> {
  if (name === browser.MODULE_NAME) return browser;
  if (name === "@jupyter-widgets/base") return import("@jupyter-widgets/base");
  throw new Error(`widget module '${name}' is not part of this page`);
}

/** Render every widget view in `root` from its saved state. Errors are shown in place of the widget. */
export async function renderBrowserWidgets(root: ParentNode = document): Promise<void> {
  for (const tag of Array.from(root.querySelectorAll(STATE))) {
    const manager = new HTMLManager({ loader });
    const models = await manager.set_state(JSON.parse(tag.textContent || "{}"));
    for (const viewTag of Array.from(root.querySelectorAll(VIEW))) {
      const { model_id } = JSON.parse(viewTag.textContent || "{}") as { model_id?: string };
      const model = models.find((m) => m.model_id === model_id);
      if (!model || !viewTag.parentElement) continue;
      const host = document.createElement("div");
      host.className = "widget-subarea";
      viewTag.parentElement.insertBefore(host, viewTag);
      try {
        const view = await manager.create_view(model);
        await manager.display_view(view, host);
      } catch (e) {
        host.textContent = `could not render widget: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
  }
  document.body?.setAttribute("data-widgets-rendered", "true");
}

(globalThis as { clipNadWidgets?: unknown }).clipNadWidgets = { renderBrowserWidgets, ...browser };
if (typeof document !== "undefined") {
  const go = () => void renderBrowserWidgets().catch((e) => {
    document.body.setAttribute("data-widgets-rendered", "error");
    console.error(e);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
  else go();
}
