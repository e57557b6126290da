/** Plain image folder as a src/data Dataset: the images clip-nad's one lister finds there (src/data/images.ts). */
import { listImages } from "./images";
import { Dataset } from "./types";

export function readImageFolder(root: string): Dataset {
  const { root: abs, items } = listImages(root);
  return { name: "image-folder", root: abs, items: items.map((it) => ({ id: it.id, path: it.path })) };
}
