import * as fs from "fs";
import { Command } from "commander";
import { encodeTexts } from "../../clip/encode";
import { ClipNadError } from "../../errors";
import { addModelOptions, npyOutPath, openModel, positiveInt, writeEmbeddings } from "../modelOption";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Texts from --text (repeatable) then --file (one text per line: row i of the output is line i, so a blank line is
 * an error naming its line; only a final newline / trailing blank lines are ignored).
 */
export function gatherTexts(texts: string[], file?: string): string[] {
  const all = [...texts];
  if (file !== undefined) {
    let body: string;
    try {
      body = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new ClipNadError(`cannot read text file (${(e as Error).message})`, { file });
    }
    const lines = body.split(/\r?\n/);
    while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
    lines.forEach((l, i) => {
      if (l.trim() === "") throw new ClipNadError(`line ${i + 1} is blank; every line is one text (row ${i} of the output)`, { file });
    });
    all.push(...lines);
  }
  if (all.length === 0) throw new ClipNadError("no texts: give --text \"...\" (repeatable) or --file F (one text per line)");
  return all;
}

/** `clip-nad embed-text --text "..." | --file F --out FILE.npy`: text embeddings, one row per text. */
export function register(program: Command): void {
  addModelOptions(
    program
      .command("embed-text")
      .description(
        "text embeddings (CLIP BPE, 77-token truncation; float32 N×d .npy) and a sidecar .json listing the texts",
      )
      .option("--text <text>", "a text to embed (repeatable)", collect, [] as string[])
      .option("--file <file>", "a UTF-8 file with one text per line")
      .requiredOption("--out <file.npy>", "output .npy file (a .json with the texts is written next to it)")
      .option("--batch-size <n>", "texts per forward pass", "64")
      .option("--normalize", "L2-normalise each embedding"),
  ).action(
    async (o: {
      model: string;
      text: string[];
      file?: string;
      out: string;
      batchSize: string;
      normalize?: boolean;
      quiet?: boolean;
      device: string;
    }) => {
      const out = npyOutPath(o.out);
      const batchSize = positiveInt("batch-size", o.batchSize);
      const texts = gatherTexts(o.text, o.file);
      const { model, name } = await openModel(o.model, o.quiet, o.device);
      try {
        await writeEmbeddings({
          model,
          name,
          out,
          total: texts.length,
          label: "embedding texts",
          unit: "texts",
          normalize: o.normalize,
          quiet: o.quiet,
          encode: (onProgress) => encodeTexts(model, texts, { batchSize, onProgress }),
          describe: () => ({ contextLength: model.config.contextLength, texts }),
        });
      } finally {
        await model.dispose();
      }
    },
  );
}
