import { Command } from "commander";
import { installKernelSpec } from "../../jupyter/kernelspec";
import { installNbextension } from "../../jupyter/nbextension";

/**
 * `clip-nad kernel install [--user|--prefix DIR] [--name clip-nad] [--nbextension]` — register the comm-enabled
 * tslab kernel, and with --nbextension the classic Notebook 6 widget extension in the same location.
 */
export function register(program: Command): void {
  const kernel = program.command("kernel").description("Jupyter kernel (tslab + comms) management");
  kernel
    .command("install")
    .description(
      "write the kernelspec: DIR/share/jupyter/kernels/<name>/kernel.json (--prefix) or the per-user one (--user, " +
        "default); " +
        "--nbextension also installs and enables the classic Notebook (6.x) front end of the widgets",
    )
    .option("--user", "install into the per-user registry (~/.local/share/jupyter/kernels)")
    .option("--prefix <dir>", "install into <dir>/share/jupyter/kernels (point JUPYTER_PATH at <dir>/share/jupyter)")
    .option("--name <name>", "kernel name", "clip-nad")
    .option(
      "--nbextension",
      "also the classic Notebook extension: <data>/nbextensions/clip-nad-widgets, enabled in " +
        "<config>/nbconfig/notebook.json (per user: ~/.local/share/jupyter and ~/.jupyter, or $JUPYTER_DATA_DIR and " +
        "$JUPYTER_CONFIG_DIR; --prefix: <dir>/share/jupyter and <dir>/etc/jupyter, for JUPYTER_CONFIG_PATH)",
    )
    .action((opts: { user?: boolean; prefix?: string; name: string; nbextension?: boolean }) => {
      const dir = installKernelSpec({ user: opts.user, prefix: opts.prefix, name: opts.name });
      console.log(`installed kernelspec '${opts.name}' in ${dir}`);
      if (opts.nbextension) {
        const ext = installNbextension({ user: opts.user, prefix: opts.prefix });
        console.log(`installed the classic Notebook extension in ${ext.nbextensionDir}, enabled in ${ext.configFile}`);
        if (opts.prefix) {
          console.log(
            `  for a notebook server outside that prefix: JUPYTER_PATH=${ext.dataDir} ` +
              `JUPYTER_CONFIG_PATH=${ext.configDir}`,
          );
        }
      }
    });
}
