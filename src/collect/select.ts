import { createHash } from "crypto";
import { ClipNadError } from "../errors";
import { ImageItem } from "../data/images";

/** Selection options, applied in this order to the sorted image list: stride → limit → shard. */
export interface SelectOptions {
  /** Keep every S-th image of the sorted list (the paper: every 5th of its 5,000 → 1,000). */
  stride?: number;
  /** Keep at most this many (after stride). */
  limit?: number;
  /** Keep positions p with p % count == index (after stride and limit). */
  shard?: Shard;
}

export interface Shard { index: number; count: number }

/** Indices (into the sorted list) selected by stride, limit and shard. */
export function selectIndices(total: number, opts: SelectOptions): number[] {
  const stride = opts.stride ?? 1;
  if (!Number.isInteger(stride) || stride < 1) throw new ClipNadError(`stride must be a positive integer, got ${opts.stride}`);
  let idx: number[] = [];
  for (let i = 0; i < total; i += stride) idx.push(i);
  if (opts.limit !== undefined) {
    if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new ClipNadError(`limit must be a positive integer, got ${opts.limit}`);
    idx = idx.slice(0, opts.limit);
  }
  if (opts.shard) {
    const { index, count } = opts.shard;
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
      throw new ClipNadError(`a shard is index/count with 0 ≤ index < count, got ${index}/${count}`);
    }
    idx = idx.filter((_, p) => p % count === index);
  }
  return idx;
}

/** Parse "i/n", the written form of a shard. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new ClipNadError(`a shard is written i/n (e.g. 0/4), got '${text}'`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  if (shard.count < 1 || shard.index >= shard.count) throw new ClipNadError(`shard ${text}: need 0 ≤ i < n`);
  return shard;
}

/** sha256 of the sorted id list: identifies "the same images" for resume and merge. */
export function hashIds(items: readonly ImageItem[]): string {
  const h = createHash("sha256");
  for (const it of items) h.update(it.id).update("\n");
  return h.digest("hex");
}
