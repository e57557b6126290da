/** Plain image folder: every image file, sorted by relative path; other files are skipped and reported. */
import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";
import { isImageName, requireDir, sortNames, stem } from "./files";
import { Dataset, SkippedFile } from "./types";

export interface ImageFolderOptions {
  /** Descend into sub-folders (default false). */
  recursive?: boolean;
  /** Fail when the folder has no image (default true). */
  requireImages?: boolean;
}

/** Magic bytes of the formats sharp decodes; a file with an image extension but other content is skipped. */
function looksLikeImage(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const b = Buffer.alloc(12);
    const n = fs.readSync(fd, b, 0, 12, 0);
    if (n < 4) return false;
    const hex = b.toString("hex");
    return (
      hex.startsWith("ffd8ff") || hex.startsWith("89504e47") || hex.startsWith("47494638") || hex.startsWith("424d") ||
      hex.startsWith("49492a00") || hex.startsWith("4d4d002a") || (hex.startsWith("52494646") && b.toString("latin1", 8, 12) === "WEBP")
    );
  } finally {
    fs.closeSync(fd);
  }
}

export function readImageFolder(root: string, opts: ImageFolderOptions = {}): Dataset {
  requireDir(root, "image");
  const rels: string[] = [];
  const skipped: SkippedFile[] = [];
  const walk = (rel: string) => {
    for (const ent of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, ent.name) : ent.name;
      if (ent.isDirectory()) {
        if (opts.recursive) walk(r);
        else skipped.push({ path: path.join(root, r), reason: "sub-folder (use recursive)" });
      } else if (!isImageName(ent.name)) {
        skipped.push({ path: path.join(root, r), reason: "not an image file extension" });
      } else if (!looksLikeImage(path.join(root, r))) {
        skipped.push({ path: path.join(root, r), reason: "image extension but not image content" });
      } else rels.push(r);
    }
  };
  walk("");
  if (rels.length === 0 && (opts.requireImages ?? true)) {
    throw new ClipNadError(`no images found${opts.recursive ? "" : " (sub-folders not searched; use recursive)"}`, { file: root });
  }
  const items = sortNames(rels).map((r) => ({ id: r.includes(path.sep) ? r.slice(0, -path.extname(r).length) : stem(r), path: path.resolve(root, r) }));
  return { name: "image-folder", root: path.resolve(root), items, skipped: skipped.sort((a, b) => (a.path < b.path ? -1 : 1)) };
}
