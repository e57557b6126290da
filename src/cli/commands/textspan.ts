import * as path from "path";
import { Command } from "commander";
import { writeJsonAtomic } from "../../io/atomic";
import { textSpan } from "../../analysis/textspan";
import { jsonOutPath, positiveInt } from "../modelOption";
import { readMatrixNpy } from "./omp";

/**
 * `clip-nad textspan`: clip_text_span's iterative removal on any data — R: N×d outputs of one unit (e.g. one head
 * over many images), T: M×d text embeddings (used as given; not re-normalised). Writes the chosen text indices in
 * order and the variance each explains.
 */
export function register(program: Command): void {
  program
    .command("textspan")
    .description(
      "TextSpan (clip_text_span iterative removal) on N×d outputs and M×d texts: chosen text indices in order and " +
        "the variance each explains",
    )
    .requiredOption("--outputs <R.npy>", "N×d outputs of one unit (float32/float64 .npy)")
    .requiredOption("--texts <T.npy>", "M×d text embeddings (used as given)")
    .requiredOption("--iterations <m>", "texts to choose")
    .requiredOption("--rank <r>", "rank of the outputs' span the texts are projected on (clip_text_span --w_ov_rank)")
    .requiredOption("--out <spans.json>", "result JSON")
    .action(async (o) => {
      jsonOutPath(o.out);
      const R = readMatrixNpy(o.outputs, "the outputs");
      const T = readMatrixNpy(o.texts, "the texts");
      const span = textSpan(R, T, {
        iterations: positiveInt("iterations", o.iterations),
        rank: positiveInt("rank", o.rank),
        files: { outputs: o.outputs, texts: o.texts },
      });
      writeJsonAtomic(o.out, {
        outputs: path.resolve(o.outputs),
        texts: path.resolve(o.texts),
        shape: { N: R.rows, M: T.rows, d: R.cols },
        iterations: span.chosen.length,
        rank: Number(o.rank),
        chosen: span.chosen,
        variance: span.variance,
        fractionOfVariance: span.variance.map((v) => v / span.totalVariance),
        totalVariance: span.totalVariance,
      });
      const explained = span.variance.reduce((a, b) => a + b, 0) / span.totalVariance;
      console.log(
        `textspan: ${R.rows} outputs × ${T.rows} texts (d = ${R.cols}), rank ${o.rank}: chose ` +
          `${span.chosen.join(", ")}`,
      );
      console.log(`  explains ${(100 * explained).toFixed(1)}% of the outputs' variance`);
      console.log(`wrote ${path.resolve(o.out)}`);
    });
}
