import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { reproduce } from "../../report/reproduce";
import { positiveInt } from "../modelOption";
import { ensureStandaloneBundle } from "../../browser/bundle";

/**
 * `clip-nad reproduce [--model toy] [--out DIR]`: execute every notebook (cached when its inputs did not change),
 * export each to offline HTML and write DIR/index.html with every figure, table and link.
 */
export function register(program: Command): void {
  program
    .command("reproduce")
    .description(
      "run every notebook (each cached and skipped when its inputs did not change), export each to offline HTML, and " +
        "write OUT/index.html with every figure (PNG beside the interactive one), every table and a link to each " +
          "notebook page",
    )
    .option(
      "--model <name|path>",
      "model for every notebook's switch (toy = the embedded model; RN50x16 = the paper's)",
      "toy",
    )
    .option(
      "--data <toy|paper>",
      "data switch of the notebooks (toy-world data, or each notebook's paper dataset)",
      "toy",
    )
    .option("--out <dir>", "report folder", "clip-nad-report")
    .option("--notebooks <list>", "only these notebooks (comma-separated file names)")
    .option("--force", "run every notebook even when its cached run is current")
    .option(
      "--jobs <n>",
      "notebooks (kernels) at once; notebooks sharing work files run one after another (default: 2 for the toy model " +
        "on 2+ cores, else 1)",
    )
    .option("--quiet", "no progress output")
    .action(
      async (o: {
        model: string;
        data: string;
        out: string;
        notebooks?: string;
        force?: boolean;
        jobs?: string;
        quiet?: boolean;
      }) => {
        const jobs = o.jobs === undefined ? undefined : positiveInt("jobs", o.jobs); // default: defaultJobs(model)
        const log = (line: string) => {
          if (!o.quiet) process.stderr.write(`${line}\n`);
        };
        const result = await reproduce({
          model: o.model,
          data: o.data,
          outDir: o.out,
          notebooks: o.notebooks
            ?.split(",")
            .map((s) => s.trim())
            .filter(Boolean),
          force: o.force,
          jobs,
          widgetBundle: () => fs.readFileSync(ensureStandaloneBundle(), "utf8"),
          onEvent: (e) => {
            if (e.kind === "start")
              log(`[${e.index + 1}/${e.total}] ${e.notebook}: ${e.cached ? "cached (inputs unchanged)" : "running"}`);
            else if (e.kind === "cell" && /^\s+cell \d+:/.test(e.line)) log(`    ${e.notebook} ${e.line.trim()}`);
            else if (e.kind === "done" && !e.cached)
              log(
                `[${e.index + 1}/${e.total}] ${e.notebook}: ${e.ok ? "done" : "FAILED"} in ${e.seconds.toFixed(1)} s`,
              );
            else if (e.kind === "report") log(e.message);
          },
        });
        const failed = result.notebooks.filter((r) => !r.ok);
        console.log(
          `wrote ${path.relative(process.cwd(), result.index) || result.index}: ${result.notebooks.length} notebooks ` +
            `(${result.notebooks.filter((r) => r.cached).length} cached), ` +
              `${result.notebooks.reduce((a, r) => a + r.figures.length, 0)} figures, ` +
            `${result.notebooks.reduce((a, r) => a + r.tables, 0)} tables, in ${result.seconds.toFixed(0)} s`,
        );
        if (failed.length) {
          for (const f of failed)
            console.error(
              `failed: ${f.notebook} (executed copy: ` +
                `${path.join(result.outDir, "notebooks", f.notebook)})\n${f.error ?? ""}`,
            );
          process.exitCode = 1;
        }
      },
    );
}
