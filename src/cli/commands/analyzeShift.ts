import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { openCollection } from "../../collect";
import { readNpy } from "../../io/npy";
import { writeJsonAtomic } from "../../io/atomic";
import { shiftReport } from "../../analysis/shift";
import { readStanfordCars } from "../../data/stanfordCars";
import { ShiftLabel, carsShiftLabels, readShiftLabels, toyShiftLabels, writeShiftLabels } from "../../data/shiftLabels";
import { addDeviceOption, jsonOutPath, openCollectionModel, openModel, positiveInt } from "../modelOption";
import { PhasedProgress } from "../progress";

function conceptEmbeddingFile(file: string, d: number): Float32Array {
  const arr = readNpy(file);
  if (!(arr.data instanceof Float32Array) && !(arr.data instanceof Float64Array)) {
    throw new ClipNadError("the concept embedding must be float32 or float64", { file });
  }
  const s = arr.shape;
  const ok = (s.length === 1 && s[0] === d) || (s.length === 2 && s[0] === 1 && s[1] === d);
  if (!ok) {
    throw new ClipNadError(
      `the concept embedding has shape (${arr.shape.join(", ")}); expected (${d},) or (1, ${d})`,
      { file },
    );
  }
  return Float32Array.from(arr.data);
}

/**
 * `clip-nad analyze shift`: the distribution-shift monitor (paper.md §A.10) on a collection and a labels.csv;
 * `clip-nad analyze shift-labels`: writes labels.csv for Stanford Cars or a toy-world dataset.
 */
export function register(analyze: Command): void {
  const shift = analyze
    .command("shift")
    .description("distribution-shift monitor: ρ(I) = ‖Σ top-k concept pairs r‖ / ‖M(I)‖ per image, "
      + "point-biserial r with a 0/1 label, group (year) means")
    .requiredOption("--collection <dir>", "collection folder from `clip-nad collect`")
    .option("--concept <text>", "the concept, embedded with the 80 ImageNet templates (not centred)")
    .option("--concept-embedding <E.npy>", "or its embedding: d values (shape (d,) or (1, d))")
    .requiredOption(
      "--labels <file.csv>",
      "columns image (the id as the collection stores it), label (0/1), optional group",
    )
    .option("--k <k>", "concept pairs", "5")
    .option(
      "--centre-over <texts>",
      "not the paper's setting: centre t on the mean embedding of these comma-separated texts (e.g. the other colours)",
    )
    .requiredOption("--out <file.json>", "where to write the report")
    .option(
      "--model <name|path>",
      "model for the concept text (default: the collection's; must be the same checkpoint)",
    )
    .option("--quiet", "no progress output");
  addDeviceOption(shift)
    .action(async (o) => {
      if ((o.concept === undefined) === (o.conceptEmbedding === undefined)) {
        throw new ClipNadError("give exactly one of --concept TEXT and --concept-embedding E.npy");
      }
      if (o.concept !== undefined && !String(o.concept).trim()) {
        throw new ClipNadError("--concept is empty: give the concept's text (e.g. --concept yellow)");
      }
      const out = jsonOutPath(o.out);
      const k = positiveInt("k", o.k);
      const labels = readShiftLabels(o.labels);
      const collection = openCollection(o.collection);
      let model: Awaited<ReturnType<typeof openModel>>["model"] | undefined;
      const progress = new PhasedProgress({ quiet: o.quiet });
      try {
        let concept: string | Float32Array;
        if (o.conceptEmbedding) concept = conceptEmbeddingFile(o.conceptEmbedding, collection.d);
        else concept = String(o.concept);
        if (o.concept !== undefined || o.centreOver !== undefined) {
          ({ model } = await openCollectionModel(collection, o.model, o.quiet, o.device));
        }
        const m = model;
        const report = await shiftReport({
          collection, concept, labels, labelsFile: o.labels, k,
          centreOver: o.centreOver === undefined ? undefined : String(o.centreOver).split(","),
          encodeText: m ? (t) => m.encodeTexts(t) : undefined,
          onProgress: (p, done, total) => progress.update(p, done, total),
        });
        progress.stop();
        const conceptEmbedding = o.conceptEmbedding ? path.resolve(o.conceptEmbedding) : null;
        writeJsonAtomic(out, { ...report, labelsFile: path.resolve(o.labels), conceptEmbedding });
        const name = report.concept ?? path.basename(o.conceptEmbedding);
        const centred = report.centredOver ? ` (centred over ${report.centredOver.join(", ")})` : "";
        console.log(`shift '${name}'${centred}: ${report.n} labelled images (${report.unlabelled} unlabelled skipped), `
          + `k = ${k} pairs: `
          + report.pairs.map((p) => `(${p.neuron}, ${p.head}) ${p.score.toFixed(3)}`).join(", "));
        const { positive, negative } = report.meanScore;
        console.log(`  point-biserial r = ${report.r.toFixed(4)}, p = ${report.p.toExponential(3)}; `
          + `mean ρ label 1: ${positive.toFixed(4)}, label 0: ${negative.toFixed(4)}`);
        for (const g of report.groupMeans) {
          console.log(`  ${g.group}: ${g.images} images, share ${g.share.toFixed(3)}, `
            + `mean ρ ${g.meanScore.toFixed(4)}`);
        }
        const gc = report.groupCorrelation;
        if (gc) {
          console.log(`  over ${report.groupMeans.length} groups: r(share, mean ρ) = ${gc.r.toFixed(4)} `
            + `(p = ${gc.p.toExponential(3)})`);
        }
        console.log(`wrote ${out}`);
      } finally {
        progress.stop();
        collection.close();
        await model?.dispose();
      }
    });

  analyze
    .command("shift-labels")
    .description("write labels.csv for `analyze shift`: Stanford Cars (yellow | convertible, group = model year) "
      + "or a toy-world dataset (a value such as yellow, group = drift year)")
    .option("--cars <root>", "Stanford Cars root (devkit + cars_train/)")
    .option(
      "--colour-csv <file>",
      "Cars: the refined colour CSV (Class = <classid>_<colorid>, image); images not in it are skipped",
    )
    .option("--split <split>", "Cars: train or test", "train")
    .option("--toy <dir>", "toy-world dataset folder (`clip-nad toyworld --drift …`)")
    .requiredOption(
      "--concept <name>",
      "Cars: yellow | convertible; toy: a value or attribute.value (yellow, colour.yellow, star, background.blue)",
    )
    .option(
      "--rule <rule>",
      "toy: a scene is positive when any object has the value (any) or the dominant one (dominant)",
      "any",
    )
    .option(
      "--root <dir>",
      "write image ids relative to this folder (default: the folder `collect --images` takes: Cars' image folder, "
        + "the toy dataset folder)",
    )
    .requiredOption("--out <labels.csv>", "where to write the CSV")
    .option("--force", "overwrite an existing --out file")
    .action((o) => {
      if (Boolean(o.cars) === Boolean(o.toy)) throw new ClipNadError("give exactly one of --cars ROOT and --toy DIR");
      if (fs.existsSync(o.out) && !o.force) {
        throw new ClipNadError("exists (pass --force to overwrite it)", { file: o.out });
      }
      let labels: ShiftLabel[];
      if (o.cars) {
        if (o.split !== "train" && o.split !== "test") {
          throw new ClipNadError(`--split must be train or test, got '${o.split}'`);
        }
        const colourCsv: string | undefined = o.colourCsv;
        const ds = readStanfordCars(o.cars, { split: o.split, colourCsv, onlyColoured: Boolean(colourCsv) });
        labels = carsShiftLabels(ds, o.concept, { root: o.root });
      } else {
        labels = toyShiftLabels(o.toy, o.concept, { rule: o.rule });
        if (o.root) {
          const root = path.resolve(o.root);
          const rebase = (image: string) => path.relative(root, path.resolve(o.toy, image)).split(path.sep).join("/");
          labels = labels.map((l) => ({ ...l, image: rebase(l.image) }));
        }
      }
      writeShiftLabels(o.out, labels);
      const pos = labels.filter((l) => l.label === 1).length;
      const groups = new Set(labels.map((l) => l.group).filter((g) => g !== undefined)).size;
      const share = ((100 * pos) / labels.length).toFixed(1);
      console.log(`wrote ${o.out}: ${labels.length} images, ${pos} labelled 1 (${share}%), ${groups} groups`);
    });
}
