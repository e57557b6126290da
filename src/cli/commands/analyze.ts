import * as fs from "fs";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { openCollection } from "../../collect";
import { loadLabelledImages } from "../../data/labelled";
import { readNpy } from "../../io/npy";
import { DEFAULT_PERCENT_KEPT, EvaluationInputs, ablateReport, reconstructReport } from "../../analysis/evaluation";
import { KeepRule } from "../../analysis/sparsity";
import { addDeviceOption, jsonOutPath, openCollectionModel, positiveInt } from "../modelOption";
import { PhasedProgress } from "../progress";
import { register as registerShift } from "./analyzeShift";
import { register as registerRegisters } from "./analyzeRegisters";
import { register as registerSubconcepts } from "./analyzeSubconcepts";
import { register as registerPolysemanticity } from "./analyzePolysemanticity";

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function parsePercents(text: string): number[] {
  const v = text.split(",").map((t) => Number(t.trim()));
  if (v.length === 0 || v.some((x) => !(x >= 0 && x <= 100))) throw new ClipNadError(`--percent must be a comma list of numbers in [0, 100], got '${text}'`);
  return v;
}

function keepRule(text: string): KeepRule {
  if (text !== "percentile" && text !== "count") throw new ClipNadError(`--keep-rule must be percentile or count, got '${text}'`);
  return text;
}

/** Analyses in their own modules: each adds its `clip-nad analyze <name>` subcommand (help lists them in order). */
const ANALYSES: ((analyze: Command) => void)[] = [
  registerSubconcepts,
  registerPolysemanticity,
  registerShift,
  registerRegisters,
];

/** `clip-nad analyze <analysis>`: one subcommand per analysis. */
export function register(program: Command): void {
  const analyze = program
    .command("analyze")
    .description(
      "analyses on a collection or an image folder: reconstruct, ablate, subconcepts, polysemanticity, shift, " +
        "registers " +
        "(`clip-nad analyze <analysis> --help`)",
    );
  for (const analysis of ["reconstruct", "ablate"] as const) registerEvaluation(analyze, analysis);
  for (const add of ANALYSES) add(analyze);
}

/**
 * `clip-nad analyze reconstruct|ablate`: the paper's "reconstruction from PCs" and mean-ablation experiments on a
 * collection (means, PCs, scores) and a labelled image folder (class sub-folders, or a toy-world dataset with
 * --classes toy:<attribute>). Prints the numbers and writes them as JSON for figures.
 */
function registerEvaluation(analyze: Command, analysis: "reconstruct" | "ablate"): void {
  const cmd = analyze
    .command(analysis)
    .description(analysis === "reconstruct"
      ? "zero-shot accuracy with every unit replaced by its mean + PCs: pairs with 1 PC vs neurons with 1/2/4 PCs"
      : "zero-shot accuracy vs % of pairs / neurons kept, the rest mean-ablated")
    .requiredOption("--collection <dir>", "collection folder from `clip-nad collect` (means, PCs, scores)")
    .requiredOption("--images <dir>", "labelled images: class sub-folders, or a toy-world dataset folder with --classes toy:<attribute>")
    .requiredOption("--out <file.json>", "where to write the numbers")
    .option("--classes <file|toy:attr|imagenet>", "class names, one per line (default: the sub-folder names); toy:shape, toy:colour, … for a toy-world dataset; imagenet for an ImageNet val folder")
    .option("--class-embeddings <file.npy>", "use these class embeddings (classes × d, numpy) instead of embedding the class names with the 80 templates")
    .option("--model <name|path>", "model (default: the collection's; must be the same checkpoint)")
    .option("--eval-dir <dir>", "collection folder for the evaluation images (default: <out>.eval; rerun resumes)")
    .option("--limit <n>", "at most this many evaluation images (after --stride)")
    .option("--stride <s>", "every S-th evaluation image", "1")
    .option("--batch <b>", "images per forward pass", "8")
    .option("--percent <list>", "percent of units kept (ablate)", DEFAULT_PERCENT_KEPT.join(","))
    .option("--keep-rule <rule>", "ablate: which units are kept at p %: percentile (score ≥ the (100 − p)th percentile, the official rule) or count (round(p % · units))", "percentile")
    .option("--quiet", "no progress output");
  addDeviceOption(cmd)
    .action(async (o) => {
      const out = jsonOutPath(o.out);
      const collection = openCollection(o.collection);
      const labelled = loadLabelledImages(o.images, o.classes);
      const { model } = await openCollectionModel(collection, o.model, o.quiet, o.device);
      let classEmbeddings: Float32Array | undefined;
      if (o.classEmbeddings) {
        const arr = readNpy(o.classEmbeddings);
        if (!(arr.data instanceof Float32Array) && !(arr.data instanceof Float64Array)) throw new ClipNadError("class embeddings must be float32 or float64", { file: o.classEmbeddings });
        classEmbeddings = Float32Array.from(arr.data);
      }
      const progress = new PhasedProgress({ quiet: o.quiet });
      const inputs: EvaluationInputs = {
        collection,
        model,
        labelled,
        classEmbeddings,
        evalDir: o.evalDir ?? out.replace(/\.json$/i, ".eval"),
        limit: o.limit === undefined ? undefined : positiveInt("limit", o.limit),
        stride: positiveInt("stride", o.stride),
        batchSize: positiveInt("batch", o.batch),
        onProgress: progress.update,
      };
      try {
        const report = analysis === "reconstruct" ? await reconstructReport(inputs) : await ablateReport(inputs, parsePercents(o.percent), { rule: keepRule(o.keepRule) });
        progress.stop();
        fs.writeFileSync(out, JSON.stringify(report, null, 1) + "\n");
        console.log(`${analysis}: ${report.evaluation.images} evaluation images, ${report.classes.length} classes; PCA collection ${report.pcaImages} images, top-${report.topK}`);
        if (report.analysis === "reconstruct") {
          const a = report.accuracy;
          console.log(`  unmodified model         ${pct(a.unmodified)}`);
          console.log(`  pairs, mean + 1 PC       ${pct(a.pairs)}  (empirical PC: top-${report.topK} SVD; ${report.varyingPairs}/${report.pairs} pairs vary)`);
          console.log(`  pairs, analytic ±w/|w|   ${pct(a.pairsAnalytic)}  (the check; min |cos(PC, w)| = ${report.minPairPCCosine.toFixed(7)})`);
          for (const n of a.neurons) console.log(`  neurons, mean + ${n.pcs} PC${n.pcs > 1 ? "s" : " "}    ${pct(n.accuracy)}`);
        } else {
          console.log(`  kept by the ${report.rule} rule      pairs (kept)          neurons (kept)`);
          report.curves.pair.points.forEach((p, i) => {
            const q = report.curves.neuron.points[i];
            console.log(`  ${String(p.percentKept).padStart(6)} %  ${pct(p.accuracy).padStart(8)} (${String(p.kept).padStart(6)})  ${pct(q.accuracy).padStart(8)} (${String(q.kept).padStart(5)})`);
          });
        }
        console.log(`wrote ${out}`);
      } finally {
        progress.stop();
        collection.close();
        await model.dispose();
      }
    });
}
