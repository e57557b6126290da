import * as fs from "fs";
import * as path from "path";
import sharp from "sharp";
import { Command } from "commander";
import { addModelOptions, openModel, positiveInt } from "../modelOption";
import { Progress } from "../progress";
import { explainToyScenes, SceneExplanation } from "../../apps/explainScenes";

/** `clip-nad demo`: decompose a few generated scenes and say which neuron-head pairs make each embedding. */
export function register(program: Command): void {
  addModelOptions(
    program
      .command("demo")
      .description("decompose a few toy-world scenes: top neuron-head pairs per scene with their best-matching words " +
        "and OMP words")
      .option("--scenes <n>", "number of scenes", "4")
      .option("--seed <n>", "scene seed", "7")
      .option("--pairs <n>", "pairs listed per scene", "5")
      .option("--max-objects <n>", "most objects per scene", "2")
      .option("--out <dir>", "also save scene PNGs and explanations.json here"),
  ).action(async (opts) => {
    const { model } = await openModel(opts.model, opts.quiet, opts.device);
    try {
      const progress = new Progress("demo", { quiet: opts.quiet });
      const result = await explainToyScenes(model, {
        scenes: positiveInt("scenes", opts.scenes),
        seed: Number(opts.seed),
        topPairs: positiveInt("pairs", opts.pairs),
        maxObjects: positiveInt("max-objects", opts.maxObjects),
        onProgress: (msg, frac) => progress.message(msg, frac),
      });
      progress.stop(`decomposed ${result.length} scenes in ${progress.elapsed().toFixed(1)} s`);
      const { visionHeads: H, grid } = model.config;
      console.log(`model ${opts.model}: ${model.config.visionWidth * 32} neurons × ${H} heads = ${model.config.visionWidth * 32 * H} pairs, ${grid}×${grid} grid\n`);
      for (const ex of result) console.log(formatScene(ex));
      if (opts.out) await save(opts.out, result);
    } finally {
      await model.dispose();
    }
  });
}

function mark(truth: string, predicted: string): string {
  return predicted === truth ? `${predicted} ✓` : `${predicted} ✗ (is ${truth})`;
}

export function formatScene(ex: SceneExplanation): string {
  const lines = [
    `scene ${ex.index}: "${ex.caption}"`,
    `  zero-shot: ${ex.zeroShot.map((z) => `${z.attribute} ${mark(z.truth, z.predicted)}`).join(", ")}`,
    `  top pairs by contribution to (M − M̄)·ê — ${(100 * ex.topShare).toFixed(1)}% from these ${ex.pairs.length}:`,
  ];
  for (const p of ex.pairs) {
    const words = p.words.map((w) => `${w.word} (${w.cosine.toFixed(2)})`).join(", ");
    const dir = p.coefficientShift >= 0 ? "+w" : "−w";
    lines.push(`    neuron ${String(p.neuron).padStart(4)} × head ${String(p.head).padStart(2)}  ${(100 * p.share).toFixed(1).padStart(5)}%  ${dir}: ${words}`);
    const signed = (c: number) => `${c >= 0 ? "+" : "−"}${Math.abs(c).toFixed(2)}`;
    const omp = p.ompWords.map((w) => `${w.word} ${signed(w.coefficient)}`).join(", ");
    lines.push(`${" ".repeat(30)}OMP γ: ${omp}`);
  }
  return lines.join("\n") + "\n";
}

async function save(dir: string, result: SceneExplanation[]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (const ex of result) {
    const { width, height, rgb } = ex.scene;
    await sharp(Buffer.from(rgb), { raw: { width, height, channels: 3 } }).png().toFile(path.join(dir, `scene_${ex.index}.png`));
  }
  const json = result.map(({ scene, ...rest }) => ({ ...rest, image: `scene_${scene.index}.png` }));
  fs.writeFileSync(path.join(dir, "explanations.json"), JSON.stringify(json, null, 2));
  console.log(`saved ${result.length} scenes and explanations.json to ${dir}`);
}
