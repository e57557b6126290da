import * as fs from "fs";
import { Command } from "commander";
import { exportNotebookHtml, hasSavedWidgets, readNotebook } from "../../figures/notebookHtml";
import { ensureStandaloneBundle } from "../../browser/bundle";

/** `clip-nad export-notebook --in executed.ipynb --out page.html` — standalone, offline-rendering HTML. */
export function register(program: Command): void {
  program
    .command("export-notebook")
    .description("turn an executed notebook into one standalone HTML page (plotly.js and the widget bundle inlined, no CDN)")
    .requiredOption("--in <notebook.ipynb>", "executed notebook (e.g. build/notebooks/fig1_pca.ipynb)")
    .requiredOption("--out <page.html>", "output HTML file")
    .action((opts: { in: string; out: string }) => {
      // Widgets (the neuron-head browser) render read-only from the state the notebook saved: inline the bundle.
      const widgetBundle = hasSavedWidgets(readNotebook(opts.in)) ? fs.readFileSync(ensureStandaloneBundle(), "utf8") : undefined;
      const { figures, widgets, bytes, unexecuted } = exportNotebookHtml(opts.in, opts.out, { widgetBundle });
      console.log(`wrote ${opts.out} (${figures} plotly figure(s), ${widgets} widget(s), ${(bytes / 1e6).toFixed(1)} MB)`);
      if (unexecuted > 0) {
        console.error(`warning: ${opts.in} looks unexecuted (${unexecuted} code cell(s) never ran, so the page has no outputs for them); ` +
          "execute it first (e.g. tools/notebooks/run_notebooks.py) and export the executed copy");
      }
    });
}
