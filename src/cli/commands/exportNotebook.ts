import { Command } from "commander";
import { exportNotebookHtml } from "../../figures/notebookHtml";

/** `clip-nad export-notebook --in executed.ipynb --out page.html` — standalone, offline-rendering HTML. */
export function register(program: Command): void {
  program
    .command("export-notebook")
    .description("turn an executed notebook into one standalone HTML page (plotly.js inlined once, no CDN)")
    .requiredOption("--in <notebook.ipynb>", "executed notebook (e.g. build/notebooks/fig1_pca.ipynb)")
    .requiredOption("--out <page.html>", "output HTML file")
    .action((opts: { in: string; out: string }) => {
      const { figures, bytes } = exportNotebookHtml(opts.in, opts.out);
      console.log(`wrote ${opts.out} (${figures} plotly figure(s), ${(bytes / 1e6).toFixed(1)} MB)`);
    });
}
