import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { encodeImages } from "../../clip/encode";
import { ClipNadError } from "../../errors";
import { addModelOptions, npyOutPath, openModel, positiveInt, writeEmbeddings } from "../modelOption";

const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif"]);

/** FILE and DIR arguments → image files: a folder contributes its image files (not recursive) in sorted order. */
export function listImages(args: string[]): string[] {
  const files: string[] = [];
  for (const arg of args) {
    if (!fs.existsSync(arg)) throw new ClipNadError("no such image file or folder", { file: arg });
    if (fs.statSync(arg).isDirectory()) {
      const names = fs
        .readdirSync(arg)
        .filter((n) => IMAGE_EXTENSIONS.has(path.extname(n).toLowerCase()) && fs.statSync(path.join(arg, n)).isFile())
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)); // code-unit order, like Python's sorted()
      if (names.length === 0) {
        throw new ClipNadError(`folder has no image files (${[...IMAGE_EXTENSIONS].join(" ")})`, { file: arg });
      }
      files.push(...names.map((n) => path.join(arg, n)));
    } else {
      files.push(arg);
    }
  }
  return files;
}

/** `clip-nad embed --images DIR|FILE... --out FILE.npy`: one embedding row per image, plus FILE.json listing them. */
export function register(program: Command): void {
  addModelOptions(
    program
      .command("embed")
      .description("image embeddings (one row per image, float32 N×d .npy) and a sidecar .json listing the images")
      .requiredOption("--images <paths...>", "image files and/or folders (a folder's images are taken in sorted order)")
      .requiredOption("--out <file.npy>", "output .npy file (a .json with the image list is written next to it)")
      .option("--batch-size <n>", "images per forward pass", "16")
      .option("--normalize", "L2-normalise each embedding"),
  ).action(async (o: { model: string; images: string[]; out: string; batchSize: string; normalize?: boolean; quiet?: boolean }) => {
    const out = npyOutPath(o.out);
    const batchSize = positiveInt("batch-size", o.batchSize);
    const images = listImages(o.images);
    const { model, name } = await openModel(o.model, o.quiet);
    try {
      await writeEmbeddings({
        model, name, out, rows: images.length, label: "embedding images", unit: "images", normalize: o.normalize, quiet: o.quiet,
        encode: (onProgress) => encodeImages(model, images, { batchSize, onProgress }),
        describe: { resolution: model.config.imageResolution, images: images.map((p) => path.resolve(p)) },
      });
    } finally {
      await model.dispose();
    }
  });
}
