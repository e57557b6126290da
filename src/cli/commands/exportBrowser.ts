import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { openCollection } from "../../collect";
import { addDeviceOption, openModel, positiveInt } from "../modelOption";
import { Progress } from "../progress";
import { BrowserBackend } from "../../browser/backend";
import { browserPageHtml, browserWidgetState } from "../../browser/state";
import { browserSourceFrom } from "../../browser/source";
import { ensureStandaloneBundle } from "../../browser/bundle";
import { CAPTION_WORDS } from "../../toyworld/vocab";
import { TOY_MODEL_PATH } from "../../clip/resolve";
import { checkNormKind } from "../../decompose";
import { unitTopImages } from "../../analysis/topImages";
import { collectionNormWeights } from "../../analysis/subconcepts";


/**
 * `clip-nad export-browser`: the neuron-head browser as ONE self-contained offline HTML page (saved widget
 * state + the standalone html-manager bundle inlined; no CDN, works from file://). Read-only: all score heat maps,
 * and details/thumbnails/words for the top pairs and all heads of the top neurons.
 */
export function register(program: Command): void {
  const cmd = program
    .command("export-browser")
    .description("write the neuron-head browser of a collection as a single offline HTML page (read-only, no kernel)")
    .requiredOption("--collection <dir>", "collection folder from `clip-nad collect`")
    .requiredOption("--out <page.html>", "HTML file to write")
    .option("--model <name|path>", "model for the best-matching words (default: the collection's)")
    .option("--pairs <n>", "embed details of the top N pairs (by contribution norm)", "200")
    .option("--neurons <n>", "and of all heads of the top N neurons (neuron views)", "10")
    .option(
      "--vocabulary <file|toy>",
      "word list for best-matching words (default: assets/text/words_30k.txt; the toy captions' words for the toy " +
        "model)",
    )
    .option("--vocab-size <n>", "use only the first N words")
    .option("--no-words", "no best-matching words (no text tower needed)")
    .option(
      "--labels <labels.json>",
      "sparse text labels from `clip-nad text-decompose`: OMP words (signed) " +
        "of pairs and neurons, TextSpan texts of heads",
    )
    .option("--thumbnail <px>", "thumbnail size", "64")
    .option(
      "--unit-norm <raw|centred>",
      "rank the neuron and head views' images by this contribution norm (one more pass over the collection; default: " +
        "the collection's stored centred top-k)",
    )
    .option("--quiet", "no progress output");
  addDeviceOption(cmd)
    .action(async (o) => {
      if (!String(o.out).toLowerCase().endsWith(".html")) throw new ClipNadError("--out must name an .html file", { file: o.out });
      const collection = openCollection(o.collection);
      const modelName: string = o.model ?? collection.manifest.model.name;
      const model = o.words ? (await openModel(modelName, o.quiet, o.device)).model : null;
      const isToy = model !== null && path.resolve(model.path) === TOY_MODEL_PATH;
      const vocabulary = !o.words ? [] : o.vocabulary === "toy" || (o.vocabulary === undefined && isToy) ? [...CAPTION_WORDS] : o.vocabulary;
      const progress = new Progress("export-browser", { quiet: o.quiet });
      try {
        const lists =
          o.unitNorm === undefined
            ? undefined
            : await unitTopImages(collection, await collectionNormWeights(collection), {
                k: collection.k,
                norm: checkNormKind(o.unitNorm),
                mean: collection.meanCoefficients,
                onProgress: (done, total) =>
                  progress.message(`top images of every unit by the ${o.unitNorm} norm`, done / total),
              });
        const source = await browserSourceFrom(model, collection, {
          unitTopImages: lists,
          vocabulary,
          vocabularySize: o.vocabSize === undefined ? undefined : positiveInt("vocab-size", o.vocabSize),
          thumbnailSize: positiveInt("thumbnail", o.thumbnail),
          labels: o.labels,
          onProgress: (msg, frac) => progress.message(msg, frac),
        });
        const backend = new BrowserBackend(source);
        progress.message("embedding pair details and thumbnails");
        const offline = await backend.buildOffline(positiveInt("pairs", o.pairs), positiveInt("neurons", o.neurons));
        const bundleJs = fs.readFileSync(ensureStandaloneBundle(), "utf8");
        const html = browserPageHtml({ title: `clip-nad neuron-head browser — ${source.title}`, modelId: "clip-nad-browser", state: browserWidgetState(backend, offline), bundleJs });
        fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
        fs.writeFileSync(o.out, html);
        progress.stop(`wrote ${o.out} (${(html.length / 1e6).toFixed(1)} MB, ${offline.index.pairs.length} pairs embedded)`);
        const failed = source.thumbnailFailures?.() ?? [];
        if (failed.length > 0) {
          const unique = [...new Map(failed.map((f) => [f.path, f])).values()];
          console.error(`warning: ${unique.length} image(s) of the collection could not be read; their tiles are empty:`);
          for (const f of unique.slice(0, 5)) console.error(`  ${f.reason}`);
          if (unique.length > 5) console.error(`  … and ${unique.length - 5} more`);
        }
      } catch (e) {
        progress.fail();
        throw e;
      } finally {
        await model?.dispose();
        collection.close();
      }
    });
}
