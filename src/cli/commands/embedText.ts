import * as fs from "fs";
import { Command } from "commander";
import { encodeTexts } from "../../clip/encode";
import { ClipNadError } from "../../errors";
import { writeNpy } from "../../weights/npy";
import { addModelOptions, clipNadVersion, normaliseRows, npyOutPath, openModel, positiveInt, sidecarPath } from "../modelOption";
import { Progress } from "../progress";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Texts from --text (repeatable) then --file (one text per line; blank lines skipped). */
export function gatherTexts(texts: string[], file?: string): string[] {
  const all = [...texts];
  if (file !== undefined) {
    let body: string;
    try {
      body = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new ClipNadError(`cannot read text file (${(e as Error).message})`, { file });
    }
    all.push(...body.split(/\r?\n/).filter((l) => l.trim() !== ""));
  }
  if (all.length === 0) throw new ClipNadError("no texts: give --text \"...\" (repeatable) or --file F (one text per line)");
  return all;
}

/** `clip-nad embed-text --text "..." | --file F --out FILE.npy`: text embeddings, one row per text. */
export function register(program: Command): void {
  addModelOptions(
    program
      .command("embed-text")
      .description("text embeddings (CLIP BPE, 77-token truncation; float32 N×d .npy) and a sidecar .json listing the texts")
      .option("--text <text>", "a text to embed (repeatable)", collect, [] as string[])
      .option("--file <file>", "a UTF-8 file with one text per line")
      .requiredOption("--out <file.npy>", "output .npy file (a .json with the texts is written next to it)")
      .option("--batch-size <n>", "texts per forward pass", "64")
      .option("--normalize", "L2-normalise each embedding"),
  ).action(async (o: { model: string; text: string[]; file?: string; out: string; batchSize: string; normalize?: boolean; quiet?: boolean }) => {
    const out = npyOutPath(o.out);
    const batchSize = positiveInt("batch-size", o.batchSize);
    const texts = gatherTexts(o.text, o.file);
    const { model, name } = await openModel(o.model, o.quiet);
    try {
      const d = model.config.embedDim;
      const progress = new Progress("embedding texts", { total: texts.length, unit: "texts", quiet: o.quiet });
      let emb: Float32Array;
      try {
        emb = await encodeTexts(model, texts, { batchSize, onProgress: (done) => progress.update(done) });
      } catch (e) {
        progress.fail();
        throw e;
      }
      progress.stop();
      if (o.normalize) normaliseRows(emb, d);
      writeNpy(out, emb, [texts.length, d]);
      const sidecar = {
        model: name,
        checkpoint: model.path,
        sha256: model.hash,
        shape: [texts.length, d],
        normalized: Boolean(o.normalize),
        contextLength: model.config.contextLength,
        texts,
        clipNadVersion: clipNadVersion(),
      };
      fs.writeFileSync(sidecarPath(out), JSON.stringify(sidecar, null, 2) + "\n");
      console.log(`wrote ${out} (${texts.length}×${d} float32) and ${sidecarPath(out)}`);
    } finally {
      await model.dispose();
    }
  });
}
