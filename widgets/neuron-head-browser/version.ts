/** Module name and version the kernel writes into `_model_module` / `_model_module_version`. */
import pkg from "../package.json";

export const MODULE_NAME: string = pkg.name; // "clip-nad-widgets"
export const MODULE_VERSION: string = pkg.version;
