/**
 * Installs the classic Jupyter Notebook (6.x) extension of clip-nad's widgets (widgets/classic/extension.ts):
 * copies the nbextension (extension.js + plotly.min.js) to `<data>/nbextensions/clip-nad-widgets/` and enables it
 * in `<config>/nbconfig/notebook.json` ("load_extensions": {"clip-nad-widgets/extension": true}), the locations
 * and file `jupyter nbextension install/enable` use:
 *  - per user (default): data $JUPYTER_DATA_DIR or ~/.local/share/jupyter, config $JUPYTER_CONFIG_DIR or ~/.jupyter;
 *  - --prefix DIR: DIR/share/jupyter and DIR/etc/jupyter (the notebook finds them when DIR is its sys.prefix, or
 *    with JUPYTER_PATH=DIR/share/jupyter JUPYTER_CONFIG_PATH=DIR/etc/jupyter).
 * Other keys of an existing notebook.json are kept; one that is not a JSON object is refused, never overwritten.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ClipNadError } from "../errors";
import { ensureDir, readJson, writeFileAtomic, writeJsonAtomic } from "../io/atomic";
import { NBEXTENSION_NAME, ensureNbextensionBundle } from "../browser/bundle";

export { NBEXTENSION_NAME };

/** The requirejs module the notebook loads: nbextensions/<name>/extension.js. */
export const NBEXTENSION_REQUIRE = `${NBEXTENSION_NAME}/extension`;
export const NBEXTENSION_FILES = ["extension.js", "plotly.min.js"];

export interface NbextensionLocation {
  /** Jupyter data folder (nbextensions/ goes below it). */
  dataDir: string;
  /** Jupyter config folder (nbconfig/notebook.json goes below it). */
  configDir: string;
}

export function nbextensionLocation(opts: { user?: boolean; prefix?: string } = {}): NbextensionLocation {
  if (opts.user && opts.prefix) throw new ClipNadError("use either the per-user location or a prefix, not both");
  if (opts.prefix) {
    const p = path.resolve(opts.prefix);
    return { dataDir: path.join(p, "share", "jupyter"), configDir: path.join(p, "etc", "jupyter") };
  }
  return {
    dataDir: process.env.JUPYTER_DATA_DIR || path.join(os.homedir(), ".local", "share", "jupyter"),
    configDir: process.env.JUPYTER_CONFIG_DIR || path.join(os.homedir(), ".jupyter"),
  };
}

export interface NbextensionInstall extends NbextensionLocation {
  /** Where the files were copied. */
  nbextensionDir: string;
  /** The notebook.json that enables it. */
  configFile: string;
}

/** Set load_extensions[<name>/extension] = true in notebook.json, keeping everything else. */
export function enableNbextension(configDir: string): string {
  const file = path.join(ensureDir(path.join(configDir, "nbconfig")), "notebook.json");
  let config: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, "utf8");
    if (text.trim() !== "") {
      const parsed = readJson<unknown>(file);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new ClipNadError("the notebook config is not a JSON object; fix or remove it (it was left as it is)", {
          file,
        });
      }
      config = parsed as Record<string, unknown>;
    }
  }
  const current = config.load_extensions;
  if (current !== undefined && (current === null || typeof current !== "object" || Array.isArray(current))) {
    throw new ClipNadError('"load_extensions" is not a JSON object; fix it (the file was left as it is)', {
      file,
      key: "load_extensions",
    });
  }
  config.load_extensions = { ...(current as Record<string, unknown> | undefined), [NBEXTENSION_REQUIRE]: true };
  writeJsonAtomic(file, config);
  return file;
}

/** Build (when stale) and copy the nbextension, then enable it. */
export function installNbextension(opts: { user?: boolean; prefix?: string } = {}): NbextensionInstall {
  const loc = nbextensionLocation(opts);
  const built = ensureNbextensionBundle();
  const nbextensionDir = ensureDir(path.join(loc.dataDir, "nbextensions", NBEXTENSION_NAME));
  for (const f of NBEXTENSION_FILES)
    writeFileAtomic(path.join(nbextensionDir, f), fs.readFileSync(path.join(built, f)));
  const configFile = enableNbextension(loc.configDir);
  return { ...loc, nbextensionDir, configFile };
}
