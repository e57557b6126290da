import * as path from "path";
import { ClipNadError } from "../../errors";
import { checkCollectionModel, openCollection } from "../../collect/collection";
import { pairPCAFromCollection } from "../../analysis/evaluation";
import { Decomposition } from "../../decompose/decomposition";

/**
 * The signs of the pairs' first PCs from a collection of this model (its majority sign over each pair's top-k
 * images: the paper's §A.4 rule, pairPCAFromCollection); 0 for pairs that never vary there.
 */
export function pairSignsFromCollection(
  dir: string,
  model: { hash: string },
  dec: Decomposition,
): { signs: Int8Array; source: string } {
  const col = openCollection(dir);
  try {
    checkCollectionModel(col, model);
    return {
      signs: pairPCAFromCollection(col, dec).sign,
      source: `collection ${path.resolve(dir)} (${col.N} images, top-${col.k})`,
    };
  } finally {
    col.close();
  }
}
