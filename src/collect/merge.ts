import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { ensureDir, fsyncDir, writeJsonAtomic } from "../io/atomic";
import { RowNpyReader, RowNpyWriter } from "../io/npy";
import { lockFolder } from "../io/lock";
import { CollectProgress, CollectionManifest, FILES, SkippedImage, identityMismatch, readManifest } from "./manifest";
import { ALL_IDS, ALL_PATHS, FinalizeEvent, finalizeCollection } from "./finalize";
import { Collection, openCollection } from "./collection";

/**
 * Merge finished shards (`collect --shard i/n` for every i) into one collection, byte-identical to a single
 * unsharded run: rows are interleaved back into image order, then the folder is finalized from the rows.
 */
export async function mergeCollections(dirs: string[], outDir: string, onProgress?: (e: FinalizeEvent) => void): Promise<Collection> {
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) throw new ClipNadError("the merge output exists and is not a folder", { file: outDir });
  ensureDir(outDir);
  const release = lockFolder(outDir, "merge");
  try {
    return await mergeLocked(dirs, outDir, onProgress);
  } finally {
    release();
  }
}

async function mergeLocked(dirs: string[], outDir: string, onProgress?: (e: FinalizeEvent) => void): Promise<Collection> {
  if (dirs.length === 0) throw new ClipNadError("merge needs at least one shard folder");
  const manifests = dirs.map((d) => readManifest(d));
  manifests.forEach((m, i) => {
    if (!m.complete) throw new ClipNadError("shard is not finished (resume its collection first)", { file: dirs[i] });
  });
  const first = manifests[0];
  const counts = new Set<number>();
  const seen = new Map<number, string>();
  manifests.forEach((m, i) => {
    if (!m.options.shard) throw new ClipNadError("not a shard (collected without a shard)", { file: dirs[i] });
    const [idx, cnt] = m.options.shard.split("/").map(Number);
    counts.add(cnt);
    if (seen.has(idx)) throw new ClipNadError(`shard ${m.options.shard} given twice (also ${seen.get(idx)})`, { file: dirs[i] });
    seen.set(idx, dirs[i]);
    const diff = identityMismatch(first, m, { ignoreShard: true });
    if (diff) throw new ClipNadError(`not a shard of the same collection as ${dirs[0]}: ${diff}`, { file: dirs[i] });
  });
  if (counts.size !== 1) throw new ClipNadError(`shards come from different splits (${[...counts].join(", ")} shards)`);
  const n = [...counts][0];
  for (let i = 0; i < n; i++) if (!seen.has(i)) throw new ClipNadError(`shard ${i}/${n} is missing from the merge`);

  if (fs.existsSync(outDir) && fs.readdirSync(outDir).some((f) => !f.startsWith("."))) {
    throw new ClipNadError("merge output folder exists and is not empty", { file: outDir });
  }
  const merged: CollectionManifest = {
    ...first,
    options: { ...first.options, shard: null },
    selected: manifests.reduce((a, m) => a + m.selected, 0),
    complete: false,
    rows: null,
    skipped: [],
    files: {},
  };
  writeJsonAtomic(path.join(outDir, FILES.manifest), merged);
  fs.copyFileSync(path.join(dirs[0], ALL_IDS), path.join(outDir, ALL_IDS));
  fs.copyFileSync(path.join(dirs[0], ALL_PATHS), path.join(outDir, ALL_PATHS));
  fs.copyFileSync(path.join(dirs[0], FILES.weights), path.join(outDir, FILES.weights));

  const { H, C, d } = first.shape;
  const shards = dirs.map((dir) => ({
    coef: new RowNpyReader(path.join(dir, FILES.coefficients)),
    emb: new RowNpyReader(path.join(dir, FILES.embeddings)),
    index: readIndex(dir),
  }));
  const writers = [
    RowNpyWriter.open(path.join(outDir, FILES.coefficients), "<f4", [H, C], 0),
    RowNpyWriter.open(path.join(outDir, FILES.embeddings), "<f4", [d], 0),
    RowNpyWriter.open(path.join(outDir, FILES.imageIndex), "<i4", [], 0),
  ];
  try {
    const pos = shards.map(() => 0);
    let lastIndex = -1;
    for (;;) {
      let best = -1;
      for (let s = 0; s < shards.length; s++) {
        if (pos[s] < shards[s].index.length && (best < 0 || shards[s].index[pos[s]] < shards[best].index[pos[best]])) best = s;
      }
      if (best < 0) break;
      const sh = shards[best];
      const r = pos[best]++;
      if (writers[2].rows > 0 && lastIndex >= sh.index[r]) throw new ClipNadError(`image ${sh.index[r]} appears in two shards`, { file: dirs[best] });
      lastIndex = sh.index[r];
      writers[0].append(sh.coef.readRows(r, 1), 1);
      writers[1].append(sh.emb.readRows(r, 1), 1);
      writers[2].append(Int32Array.of(sh.index[r]), 1);
    }
    for (const w of writers) w.commit();
  } finally {
    for (const w of writers) w.close();
    for (const s of shards) {
      s.coef.close();
      s.emb.close();
    }
  }
  const skipped: SkippedImage[] = manifests.flatMap((m) => m.skipped).sort((a, b) => a.index - b.index);
  const progress: CollectProgress = { rows: writers[0].rows, next: merged.selected, skipped };
  fsyncDir(outDir);
  writeJsonAtomic(path.join(outDir, FILES.progress), progress);
  await finalizeCollection(outDir, onProgress);
  return openCollection(outDir);
}

function readIndex(dir: string): Int32Array {
  const r = new RowNpyReader(path.join(dir, FILES.imageIndex));
  try {
    return r.readRows(0, r.rows) as Int32Array;
  } finally {
    r.close();
  }
}
