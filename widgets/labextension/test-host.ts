/**
 * Test host for the prebuilt JupyterLab extension (bundled by test/browser-labextension.test.ts; lives here for the DOM typecheck): does what
 * JupyterLab does with a federated extension — loads its remoteEntry, initialises the container with a share
 * scope that provides @jupyter-widgets/base as the singleton, gets './extension', activates the plugin with an
 * IJupyterWidgetRegistry — then renders a saved browser state with the classes the plugin registered.
 */
import * as base from "@jupyter-widgets/base";
import { ManagerBase } from "@jupyter-widgets/base-manager";

interface Container { init(scope: unknown): Promise<void>; get(module: string): Promise<() => { default: Plugin }> }
interface Plugin { id: string; requires: unknown[]; autoStart: boolean; activate(app: unknown, registry: unknown): void }
interface Registered { name: string; version: string; exports: Record<string, unknown> }

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
}

export async function hostExtension(remoteEntry: string, name: string, savedState: unknown): Promise<{ plugin: string; registered: string[]; tokenIsShared: boolean }> {
  await loadScript(remoteEntry);
  const container = (window as unknown as { _JUPYTERLAB: Record<string, Container> })._JUPYTERLAB[name];
  await container.init({ "@jupyter-widgets/base": { "6.0.12": { get: () => Promise.resolve(() => base), loaded: 1, from: "host" } } });
  const plugin = (await container.get("./extension"))().default;
  const registered: Registered[] = [];
  plugin.activate({}, { registerWidget: (d: Registered) => registered.push(d) });
  const widgets = registered[0];
  class Manager extends ManagerBase {
    protected async loadClass(className: string, moduleName: string): Promise<never> {
      if (moduleName !== widgets.name) throw new Error(`unknown module ${moduleName}`);
      return widgets.exports[className] as never;
    }
    protected async _create_comm(): Promise<never> { throw new Error("no kernel"); }
    protected async _get_comm_info(): Promise<{}> { return {}; }
  }
  const manager = new Manager();
  const [model] = await manager.set_state(savedState as Parameters<ManagerBase["set_state"]>[0]);
  const view = await manager.create_view(model);
  document.body.appendChild(view.el);
  return {
    plugin: plugin.id,
    registered: registered.map((r) => `${r.name}@${r.version}: ${Object.keys(r.exports).join(", ")}`),
    tokenIsShared: plugin.requires[0] === base.IJupyterWidgetRegistry,
  };
}

(window as unknown as { hostExtension: typeof hostExtension }).hostExtension = hostExtension;
