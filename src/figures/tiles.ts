import sharp from "sharp";
import { ClipNadError } from "../errors";
import { Collection } from "../collect/collection";
import { ImageTile } from "./topImages";

/**
 * Image tiles for the image-grid figures (src/figures/topImages.ts): each image cover-cropped to a square PNG and
 * encoded as a data URI, so the figure spec is self-contained. The one place figures read image files.
 */

/** A square PNG tile of an image file. */
export async function imageTile(file: string, size: number, id: string, score: number): Promise<ImageTile> {
  let png: Buffer;
  try {
    png = await sharp(file).resize(size, size, { fit: "cover" }).png({ compressionLevel: 9 }).toBuffer();
  } catch (e) {
    throw new ClipNadError(`cannot read the image for a figure tile: ${(e as Error).message}`, { file });
  }
  return { src: `data:image/png;base64,${png.toString("base64")}`, width: size, height: size, id, score };
}

/** Tiles of a unit's top rows of a collection (best first) with their scores; `imageRoot`: where the images are now. */
export async function collectionTiles(
  collection: Collection, top: { rows: ArrayLike<number>; scores: ArrayLike<number> },
  opts: { size?: number; imageRoot?: string } = {},
): Promise<ImageTile[]> {
  const tiles: ImageTile[] = [];
  for (let j = 0; j < top.rows.length; j++) {
    const row = top.rows[j];
    if (row < 0) continue;
    const file = collection.imagePath(row, opts.imageRoot);
    tiles.push(await imageTile(file, opts.size ?? 84, collection.ids[row], top.scores[j]));
  }
  return tiles;
}
