import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { openCollection } from "../../collect";
import { ensureDir, writeFileAtomic, writeJsonAtomic } from "../../io/atomic";
import { SparseCodes, writeCodesNpz } from "../../analysis/omp";
import { collectionText } from "../../analysis/textDecomposition";
import { dictionaryWords, textDictionary, toyDictionaryWords } from "../../text/dictionary";
import { loadTemplates } from "../../text/templates";
import { WORDS_30K, readWordList } from "../../text/vocabulary";
import { TOY_MODEL_PATH } from "../../clip/resolve";
import { addDeviceOption, nonNegativeInt, openCollectionModel, positiveInt } from "../modelOption";
import { PhasedProgress } from "../progress";

/** Default dictionary size of the toy model: its caption words + seeded 30k words (embedding 80 templates each). */
export const TOY_DICTIONARY_SIZE = 1000;
/**
 * Default m of the toy model. The paper's 64 gives the toy's largest |γ| to words its text tower never saw (their
 * template-averaged embeddings are near-duplicates, which a 64-atom least-squares fit weighs with large cancelling
 * coefficients); with 8, the top words are its caption words (notebooks/tab_text_labels.ipynb measures this).
 */
export const TOY_NONZERO = 8;



/**
 * `clip-nad text-decompose`: the sparse text decomposition of a collection's units (paper.md §A.7). Each pair's PC
 * (±w/|w|, majority sign) and each neuron's first PC as m-sparse OMP codes over a normalised dictionary of
 * template-averaged word embeddings, and each attention-pool head's TextSpan texts over the collection's images.
 * Writes pairs.npz (H·C × K, row h·C + n), neurons.npz (C × K) — scipy CSR — words.txt (atom order) and labels.json
 * (every unit's top words with signed coefficients; the neuron-head browser reads it with --labels).
 */
export function register(program: Command): void {
  const cmd = program
    .command("text-decompose")
    .description(
      "sparse text decomposition of a collection's units: OMP codes of every pair's and neuron's PC over a word " +
        "dictionary, TextSpan texts of every head; writes pairs.npz, neurons.npz, words.txt, labels.json",
    )
    .requiredOption("--collection <dir>", "collection folder from `clip-nad collect`")
    .requiredOption("--out <dir>", "output folder")
    .option(
      "--words <file|toy|30k>",
      "dictionary word list: a file (one word per line), 30k (assets/text/words_30k.txt) or toy (the toy captions' " +
        "words + seeded 30k words); default toy for the toy model, else 30k",
    )
    .option(
      "--size <n>",
      `use a seeded subset of this many words (default: the whole list; toy: ${TOY_DICTIONARY_SIZE})`,
    )
    .option("--seed <n>", "subset seed", "0")
    .option(
      "--nonzero <m>",
      `OMP non-zero coefficients per unit (default 64, the paper's; ${TOY_NONZERO} for the toy model)`,
    )
    .option("--top-words <k>", "words per unit in labels.json", "10")
    .option(
      "--templates <file|none>",
      "prompt templates for the words (default: the 80 OpenAI ImageNet templates; none = each word as it is)",
    )
    .option("--textspan <iterations>", "TextSpan texts per head (0 = skip)", "10")
    .option("--textspan-rank <r>", "rank of each head's span (default: the head dimension)")
    .option(
      "--model <name|path>",
      "model for the word embeddings (default: the collection's; must be the same checkpoint)",
    )
    .option("--force", "replace the outputs of an earlier run in --out")
    .option("--quiet", "no progress output");
  addDeviceOption(cmd)
    .action(async (o) => {
      const out: string = o.out;
      const labelsFile = path.join(out, "labels.json");
      if (fs.existsSync(labelsFile) && !o.force)
        throw new ClipNadError(
          "the folder holds an earlier text decomposition (labels.json); pass --force to replace it",
          { file: out },
        );
      const collection = openCollection(o.collection);
      const { model, name } = await openCollectionModel(collection, o.model, o.quiet, o.device);
      const phased = new PhasedProgress({ quiet: o.quiet });
      const onProgress = phased.update;
      try {
        const isToy = path.resolve(model.path) === TOY_MODEL_PATH;
        const source: string = o.words ?? (isToy ? "toy" : "30k");
        const seed = Number(o.seed);
        if (!Number.isInteger(seed)) throw new ClipNadError(`--seed must be an integer, got '${o.seed}'`);
        let words: string[];
        if (source === "toy") {
          words = toyDictionaryWords(o.size === undefined ? TOY_DICTIONARY_SIZE : positiveInt("size", o.size), seed);
        } else {
          const list = readWordList(source === "30k" ? WORDS_30K : source);
          words = o.size === undefined ? list : dictionaryWords(positiveInt("size", o.size), { words: list, seed });
        }
        const templates = o.templates === "none" ? [] : loadTemplates(o.templates);
        const m = o.nonzero === undefined ? (isToy ? TOY_NONZERO : 64) : positiveInt("nonzero", o.nonzero);
        if (m > words.length)
          throw new ClipNadError(`the dictionary has ${words.length} words, fewer than --nonzero ${m}`, {
            file: source === "toy" ? undefined : source,
          });
        ensureDir(out);
        const dictionary = await textDictionary(words, (t) => model.encodeTexts(t, { batchSize: 256 }), {
          modelHash: model.hash,
          templates,
          onProgress: (d, t) =>
            onProgress(`embedding ${words.length} words × ${templates.length || 1} templates`, d, t),
        });
        const res = await collectionText(collection, dictionary, {
          nonzero: m,
          topWords: positiveInt("top-words", o.topWords),
          textSpanIterations: nonNegativeInt("textspan", o.textspan),
          textSpanRank: o.textspanRank === undefined ? undefined : positiveInt("textspan-rank", o.textspanRank),
          workDir: path.join(out, "work"),
          dictionaryInfo: {
            templates: templates.length,
            file: source === "toy" || source === "30k" ? source : path.resolve(source),
          },
          modelName: name,
          onProgress,
        });
        phased.stop();
        writeCodesNpz(path.join(out, "pairs.npz"), res.codes.pairs);
        writeCodesNpz(path.join(out, "neurons.npz"), res.codes.neurons);
        writeFileAtomic(path.join(out, "words.txt"), dictionary.words.join("\n") + "\n");
        writeJsonAtomic(labelsFile, res.labels);
        const early = (c: SparseCodes) => Object.values(c.earlyStops).reduce((a, b) => a + b, 0);
        console.log(
          `text-decompose: ${collection.H}×${collection.C} pairs and ${collection.C} neurons over ${words.length} ` +
            `words, m = ${m}` +
            ` (${early(res.codes.pairs)} pairs and ${early(res.codes.neurons)} neurons ended early: units that do ` +
            `not vary have no words)`,
        );
        const show = (what: string, ws: { word: string; coefficient: number }[]) =>
          console.log(
            `  ${what.padEnd(24)} ${ws
              .slice(0, 5)
              .map((w) => `${w.word} ${w.coefficient >= 0 ? "+" : "−"}${Math.abs(w.coefficient).toFixed(3)}`)
              .join(", ")}`,
          );
        const top = collection.neuronTopK;
        let best = 0;
        for (let n = 1; n < collection.C; n++) if (top.values[n * top.k] > top.values[best * top.k]) best = n;
        show(`neuron ${best}`, res.labels.neurons[best].words);
        for (let h = 0; h < Math.min(collection.H, 3); h++)
          show(`  pair (${best}, head ${h})`, res.labels.pairs[h * collection.C + best].words);
        if (res.labels.heads.length)
          console.log(
            `  head 0 TextSpan          ${res.labels.heads[0].texts
              .slice(0, 5)
              .map((t) => `${t.text} ${(100 * t.fraction).toFixed(1)}%`)
              .join(", ")}`,
          );
        console.log(`wrote ${path.resolve(out)}/{pairs.npz, neurons.npz, words.txt, labels.json}`);
      } finally {
        phased.stop();
        collection.close();
        await model.dispose();
      }
    });
}
