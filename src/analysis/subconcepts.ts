import * as fs from "fs";
import { ClipNadError } from "../errors";
import { Collection } from "../collect/collection";
import { NormKind, checkNeuron, checkNormKind, pairTables } from "../decompose";
import { TopImagesWeights, UnitTop, UnitTopImages, unitTopImages } from "./topImages";

/**
 * Sub-concept retrieval (paper.md §A.11): for one neuron, its own top images by ‖Σ_h r^{n,h}(I)‖ and, for each of
 * its H pairs, the top images by ‖r^{n,h}(I)‖ — raw norms by default, as the paper — streamed over a collection's
 * stored s (src/analysis/topImages). A pair whose images differ from its neuron's shows a sub-concept.
 */

/** An image of a top list: the collection's id (its path relative to the image root) and its norm. */
export interface TopImage {
  id: string;
  score: number;
}

export interface SubconceptsReport {
  model: { name: string; hash: string };
  norm: NormKind;
  /** Images per list. */
  top: number;
  /** Images ranked (the collection's rows). */
  images: number;
  neuron: { neuron: number; top: TopImage[] };
  /** Every head's pair of the neuron, in head order; `strength` = mean of its listed norms. */
  pairs: { neuron: number; head: number; strength: number; top: TopImage[] }[];
}

/** The weight tables retrieval needs, from a collection's saved attention-pool weights (no H×C×d directions). */
export async function collectionNormWeights(collection: Collection): Promise<TopImagesWeights> {
  const apw = collection.weights;
  const t = await pairTables(apw);
  return { apw, wNorms: t.wNorms, neuronGram: t.neuronGram };
}

/**
 * Make sure the images of these rows are where the collection says (or under `imageRoot`, when they moved):
 * figures and browsers show them, and ids of missing files would name nothing.
 */
export function checkImagesPresent(collection: Collection, rows: Iterable<number>, imageRoot?: string): void {
  for (const row of rows) {
    if (row < 0) continue;
    const file = collection.imagePath(row, imageRoot);
    if (!fs.existsSync(file)) {
      throw new ClipNadError(`image '${collection.ids[row]}' of the collection is missing (the images were moved or ` +
        "deleted; give the folder they are in now as the image root)", { file });
    }
  }
}

/** A unit's list as ids and scores, best first. */
export function topImageList(collection: Collection, top: UnitTop): TopImage[] {
  const ids = collection.ids;
  return Array.from(top.rows, (row, j) => ({ id: ids[row], score: top.scores[j] }));
}

export interface SubconceptsOptions {
  /** Images per list (default 10). */
  top?: number;
  /** Default "raw", as the paper's retrieval. */
  norm?: NormKind;
  weights?: TopImagesWeights;
  /** Check the listed images exist (default true), under this root when given. */
  checkImages?: boolean;
  imageRoot?: string;
  onProgress?: (done: number, total: number) => void;
}

/** The neuron's and its pairs' top images (one pass over the collection; memory: one chunk of rows). */
export async function subconcepts(
  collection: Collection, neuron: number, opts: SubconceptsOptions = {},
): Promise<{ report: SubconceptsReport; lists: UnitTopImages }> {
  const n = checkNeuron(collection, neuron);
  const norm = checkNormKind(opts.norm ?? "raw");
  const heads = Array.from({ length: collection.H }, (_, h) => h);
  const lists = await unitTopImages(collection, opts.weights ?? (await collectionNormWeights(collection)), {
    k: opts.top ?? 10, norm, mean: norm === "centred" ? collection.meanCoefficients : undefined,
    pairs: heads.map((h) => ({ neuron: n, head: h })), neurons: [n], heads: [], onProgress: opts.onProgress,
  });
  const neuronTop = lists.neuron(n);
  const pairTops = heads.map((h) => lists.pair({ neuron: n, head: h }));
  if (opts.checkImages !== false) {
    checkImagesPresent(collection, neuronTop.rows, opts.imageRoot);
    for (const t of pairTops) checkImagesPresent(collection, t.rows, opts.imageRoot);
  }
  const mean = (v: Float32Array) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);
  const report: SubconceptsReport = {
    model: { name: collection.manifest.model.name, hash: collection.manifest.model.hash },
    norm, top: lists.k, images: collection.N,
    neuron: { neuron: n, top: topImageList(collection, neuronTop) },
    pairs: pairTops.map((t, h) => ({ neuron: n, head: h, strength: mean(t.scores), top: topImageList(collection, t) })),
  };
  return { report, lists };
}
