import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { listImages } from "../../data/images";
import { SkippedImage, loadPixelBatch } from "../../clip/imageBatch";
import { addModelOptions, npyOutPath, openModel, positiveInt, writeEmbeddings } from "../modelOption";

/**
 * `clip-nad embed --images DIR|FILE... --out FILE.npy`: one embedding row per readable image, plus FILE.json listing
 * the rows' images and the skipped ones. Images are listed as `collect` lists them (src/data/images: folders
 * recursively, sorted by id) and unreadable images are skipped and reported, as `collect` does.
 */
export function register(program: Command): void {
  addModelOptions(
    program
      .command("embed")
      .description(
        "image embeddings (one row per readable image, float32 N×d .npy) and a sidecar .json listing the rows' " +
          "images and any skipped ones",
      )
      .requiredOption(
        "--images <paths...>",
        "image files and/or folders (folders: every image below them, sorted by relative path, as collect lists them)",
      )
      .requiredOption("--out <file.npy>", "output .npy file (a .json with the image list is written next to it)")
      .option("--batch-size <n>", "images per forward pass", "16")
      .option("--normalize", "L2-normalise each embedding"),
  ).action(
    async (o: {
      model: string;
      images: string[];
      out: string;
      batchSize: string;
      normalize?: boolean;
      quiet?: boolean;
      device: string;
    }) => {
      const out = npyOutPath(o.out);
      const batchSize = positiveInt("batch-size", o.batchSize);
      const list = listImages(
        o.images.length === 1 && fs.existsSync(o.images[0]) && fs.statSync(o.images[0]).isDirectory()
          ? o.images[0]
          : o.images,
      );
      const { model, name } = await openModel(o.model, o.quiet, o.device);
      const skipped: SkippedImage[] = [];
      const rows: string[] = [];
      try {
        await writeEmbeddings({
          model,
          name,
          out,
          label: "embedding images",
          unit: "images",
          normalize: o.normalize,
          quiet: o.quiet,
          total: list.items.length,
          encode: async (onProgress) => {
            const d = model.config.embedDim;
            const parts: Float32Array[] = [];
            const R = model.config.imageResolution;
            for (let start = 0; start < list.items.length; start += batchSize) {
              const indices = Array.from(
                { length: Math.min(batchSize, list.items.length - start) },
                (_, i) => start + i,
              );
              const batch = await loadPixelBatch(list.items, indices, R);
              skipped.push(...batch.skipped);
              if (batch.ok.length) {
                parts.push((await model.encodeImagePixels(batch.pixels, batch.ok.length)).embedding);
                for (const i of batch.ok) rows.push(path.resolve(list.items[i].path));
              }
              onProgress(start + indices.length);
            }
            if (rows.length === 0) {
              throw new ClipNadError(
                `none of the ${list.items.length} images could be read (first error: ${skipped[0]?.reason})`,
                { file: o.images[0] },
              );
            }
            const emb = new Float32Array(rows.length * d);
            let off = 0;
            for (const p of parts) {
              emb.set(p, off);
              off += p.length;
            }
            return emb;
          },
          describe: () => ({ resolution: model.config.imageResolution, root: list.root, images: rows, skipped }),
        });
      } finally {
        await model.dispose();
      }
      if (skipped.length > 0) {
        console.error(`skipped ${skipped.length} unreadable image(s) (listed in ${out.replace(/\.npy$/i, ".json")}):`);
        for (const s of skipped.slice(0, 10)) console.error(`  ${s.id}: ${s.reason}`);
        if (skipped.length > 10) console.error(`  … and ${skipped.length - 10} more`);
      }
    },
  );
}
