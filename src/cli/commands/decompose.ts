import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { neuronsOf, tokensOf } from "../../clip/config";
import { ClipNadError } from "../../errors";
import { forwardImage } from "../../clip/encode";
import { writeNpy } from "../../io/npy";
import { addModelOptions, clipNadVersion, openModel } from "../modelOption";

/**
 * `clip-nad decompose --image FILE --out DIR`: the attention-pool internals of one image as float32 .npy:
 * embedding (d), features Z (C×K, row-major over h,w), attention a (H×(K+1), index 0 = pooled token),
 * coefficients s (H×C), plus manifest.json.
 */
export function register(program: Command): void {
  addModelOptions(
    program
      .command("decompose")
      .description("write one image's embedding, features Z, attention a and pair coefficients s as .npy files + manifest.json")
      .requiredOption("--image <file>", "image file (JPEG, PNG, WebP, …)")
      .requiredOption("--out <dir>", "output folder (created if needed)"),
  ).action(async (o: { model: string; image: string; out: string; quiet?: boolean; device: string }) => {
    if (!fs.existsSync(o.image)) throw new ClipNadError("image file not found", { file: o.image });
    if (fs.existsSync(o.out) && !fs.statSync(o.out).isDirectory()) throw new ClipNadError("--out must be a folder, but a file exists there", { file: o.out });
    const { model, name } = await openModel(o.model, o.quiet, o.device);
    try {
      const cfg = model.config;
      const C = neuronsOf(cfg);
      const H = cfg.visionHeads;
      const K = tokensOf(cfg);
      const d = cfg.embedDim;
      // The internals only: the weight-only tables (w is 453 MB for RN50x16) are not needed to write them.
      const fwd = await forwardImage(model, o.image);
      const image = { embedding: fwd.embedding, Z: fwd.features, a: fwd.attention, s: fwd.coefficients };
      fs.mkdirSync(o.out, { recursive: true });
      const arrays: [string, Float32Array, number[]][] = [
        ["embedding.npy", image.embedding, [d]],
        ["features.npy", image.Z, [C, K]],
        ["attention.npy", image.a, [H, K + 1]],
        ["coefficients.npy", image.s, [H, C]],
      ];
      for (const [file, data, shape] of arrays) writeNpy(path.join(o.out, file), data, shape);
      const manifest = {
        model: name,
        checkpoint: model.path,
        sha256: model.hash,
        config: cfg,
        image: path.resolve(o.image),
        shapes: Object.fromEntries(arrays.map(([file, , shape]) => [file.replace(/\.npy$/, ""), shape])),
        notes: {
          features: "Z, post-ReLU last layer4 output, C×K with K = grid² flattened row-major over (h, w)",
          attention: "a, the pooled (mean) query's attention per head over the K+1 tokens; index 0 = the pooled token",
          coefficients: "s[h,n] = Σ_i a_i^h x_{i,n} (x = tokens + positional embedding)",
        },
        clipNadVersion: clipNadVersion(),
      };
      fs.writeFileSync(path.join(o.out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
      console.log(`wrote embedding (${d}), features (${C}×${K}), attention (${H}×${K + 1}), coefficients (${H}×${C}) and manifest.json to ${o.out}`);
    } finally {
      await model.dispose();
    }
  });
}
