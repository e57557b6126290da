/**
 * JupyterLab 4 plugin of clip-nad-widgets: registers the neuron-head browser's model and view with the widget
 * manager of jupyterlab_widgets (ipywidgets 8) through the IJupyterWidgetRegistry token. @jupyter-widgets/base
 * is a shared singleton provided by jupyterlab_widgets, never bundled here (the token must be the same object).
 * Typed structurally so this package needs no @jupyterlab/application.
 */
import { IJupyterWidgetRegistry } from "@jupyter-widgets/base";
import { MODULE_NAME, MODULE_VERSION, NeuronHeadBrowserModel, NeuronHeadBrowserView } from "../neuron-head-browser";

const plugin = {
  id: "clip-nad-widgets:plugin",
  description: "clip-nad neuron-head browser widget",
  requires: [IJupyterWidgetRegistry],
  autoStart: true,
  activate(_app: unknown, registry: IJupyterWidgetRegistry): void {
    registry.registerWidget({
      name: MODULE_NAME,
      version: MODULE_VERSION,
      exports: { NeuronHeadBrowserModel, NeuronHeadBrowserView },
    });
  },
};

export default plugin;
