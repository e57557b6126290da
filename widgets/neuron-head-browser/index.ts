/** clip-nad-widgets: the neuron-head browser's front end (model, view, module name/version). */
export { NeuronHeadBrowserModel } from "./model";
export { NeuronHeadBrowserView } from "./view";
export { MODULE_NAME, MODULE_VERSION } from "./version";
