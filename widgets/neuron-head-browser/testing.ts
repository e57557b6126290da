/**
 * For the jsdom tests of the browser: the DOM pieces jsdom lacks, and a minimal saved-state widget manager
 * (ManagerBase, as html-manager is, minus rendermime/ui-components, which pull @jupyter/web-components and its
 * un-hoisted tslib into the test). The real html-manager page is covered by test/browser-offline.test.ts.
 */
export type BrowserModule = typeof import(".");
export type SavedStateManager = new () => {
  set_state(s: unknown): Promise<unknown[]>;
  create_view(m: unknown): Promise<unknown>;
};

/** @lumino/dragdrop and @jupyterlab/ui-components touch these at import time (toolchain.md §6). */
/** DragEvent and matchMedia, which jsdom lacks and the widgets use. */
export function shimJsdom(): void {
  const g = globalThis as Record<string, unknown>;
  if (!g.DragEvent) g.DragEvent = class DragEvent extends (g.MouseEvent as typeof MouseEvent) {};
  if (!window.matchMedia) {
    (window as unknown as Record<string, unknown>).matchMedia = (q: string) => ({
      matches: false, media: q, onchange: null, addListener() {}, removeListener() {}, addEventListener() {},
      removeEventListener() {}, dispatchEvent: () => false,
    });
  }
}

/** The widget module and a manager that creates its models and views from saved state (no kernel). */
export async function loadBrowserWidget(): Promise<{ browser: BrowserModule; Manager: SavedStateManager }> {
  shimJsdom();
  const browser = await import(".");
  const { ManagerBase } = await import("@jupyter-widgets/base-manager");
  class TestManager extends ManagerBase {
    protected async loadClass(className: string, moduleName: string): Promise<never> {
      if (moduleName !== browser.MODULE_NAME) throw new Error(`unknown module ${moduleName}`);
      return (browser as unknown as Record<string, never>)[className];
    }
    protected async _create_comm(): Promise<never> { throw new Error("no kernel"); }
    protected async _get_comm_info(): Promise<{}> { return {}; }
  }
  return { browser, Manager: TestManager as unknown as SavedStateManager };
}
