import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { checkNormKind } from "../../decompose";
import { writeJsonAtomic } from "../../io/atomic";
import { polysemanticity } from "../../analysis/polysemanticity";
import { RowLabels, imagenetSuperclassLabels, toyAttributeLabels } from "../../analysis/rowLabels";
import { jsonOutPath, positiveInt } from "../modelOption";
import { addTopImageOptions, checkModelOption, withCollection } from "./analyzeSubconcepts";

/**
 * `clip-nad analyze polysemanticity --collection COL [--top 10] [--norm raw|centred] --out X.json`: per neuron and
 * per pair, the inertia of the normalised embeddings of its top images (paper.md §A.12, v2), with histograms; with
 * --labels, also the number of distinct labels among the top images (imagenet: WordNet super-classes, v1; toy: each
 * toy-world attribute, ground truth).
 */
export function register(analyze: Command): void {
  addTopImageOptions(analyze
    .command("polysemanticity")
    .description("inertia of each neuron's and pair's top-image embeddings (lower = more monosemantic), " +
      "histograms neurons vs pairs")
    .option("--labels <imagenet|toy>", "also count distinct labels among the top images: imagenet (WordNet " +
      "super-classes of an ImageNet val collection) or toy (toy-world attributes)")
    .option("--dataset <dir>", "the labelled dataset (ImageNet val / toy-world folder; default: the collection's " +
      "image folder)")
    .option("--superclasses <file.json>", "class index → super-class mapping for --labels imagenet " +
      "(default: assets/text/imagenet_idx_to_superclass.json)")
    .option("--bins <n>", "inertia histogram bins", "30"))
    .action(async (o) => {
      const out = jsonOutPath(o.out);
      const norm = checkNormKind(o.norm);
      const top = positiveInt("top", o.top);
      const bins = positiveInt("bins", o.bins);
      if (o.labels !== undefined && o.labels !== "imagenet" && o.labels !== "toy") {
        throw new ClipNadError(`--labels must be imagenet or toy, got '${o.labels}'`);
      }
      const label = "polysemanticity: top images of every neuron and pair";
      await withCollection(o.collection, label, o.quiet, async (collection, onProgress) => {
        await checkModelOption(collection, o.model);
        const dataset: string = o.dataset ?? o.images ?? collection.manifest.images.root;
        let labels: RowLabels[] = [];
        if (o.labels === "imagenet") {
          labels = [imagenetSuperclassLabels(collection, dataset, { mapping: o.superclasses, imageRoot: o.images })];
        } else if (o.labels === "toy") labels = toyAttributeLabels(collection, dataset, o.images);
        const report = await polysemanticity(collection, { top, norm, labels, bins, onProgress });
        writeJsonAtomic(out, report);
        const f = (x: number) => x.toFixed(3);
        console.log(`${collection.C} neurons, ${collection.H * collection.C} pairs; top-${report.top} of ` +
          `${report.images} images by the ${norm} norm`);
        console.log("  measure                  neurons mean (median)   pairs mean (median)   pairs ≤ neurons' median");
        for (const [name, s] of Object.entries(report.summaries)) {
          const neurons = `${f(s.neuronMean).padStart(8)} (${f(s.neuronMedian)})`;
          const pairs = `${f(s.pairMean).padStart(8)} (${f(s.pairMedian)})`;
          const below = `${(100 * s.pairsAtOrBelowNeuronMedian).toFixed(1)}%`;
          console.log(`  ${name.padEnd(24)} ${neurons}    ${pairs}     ${below}`);
        }
        console.log(`wrote ${out}`);
      });
    });
}
