import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import {
  contextLabels, encodeMat, mat, readContextMask, readImageFolder, readImageNetClasses, readImageNetTest, readImageNetVal,
  readPascalContext, readToyDataset,
} from "../src/data";
import { listImages } from "../src/data/images";
import { ClipNadError } from "../src/errors";
import { writeToyDataset } from "../src/toyworld";

const tmpRoots: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-data-"));
  tmpRoots.push(d);
  return d;
}
afterAll(() => tmpRoots.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function writeImage(file: string, fmt: "jpeg" | "png" = "jpeg", value = 100): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp({ create: { width: 4, height: 4, channels: 3, background: { r: value, g: 0, b: 0 } } });
  await (fmt === "jpeg" ? img.jpeg() : img.png()).toFile(file);
}

const classes = readImageNetClasses();

describe("image folder (the one lister, src/data/images)", () => {
  it("lists every image below the root, recursively, sorted by id = path relative to the root with /", async () => {
    const root = tmp();
    await writeImage(path.join(root, "b.jpg"));
    await writeImage(path.join(root, "a.png"), "png");
    await writeImage(path.join(root, "sub", "c.JPEG"));
    await writeImage(path.join(root, "sub", "deeper", "A.webp"));
    await writeImage(path.join(root, ".hidden", "h.png"), "png");
    await writeImage(path.join(root, ".dot.png"), "png");
    fs.writeFileSync(path.join(root, "notes.txt"), "hi");
    fs.writeFileSync(path.join(root, "fake.jpg"), "not really a jpeg");
    const ds = readImageFolder(root);
    expect(ds.root).toBe(path.resolve(root));
    // code-point order (Python's sorted()); no content sniffing: fake.jpg is listed and skipped when read
    const ids = ["a.png", "b.jpg", "fake.jpg", "sub/c.JPEG", "sub/deeper/A.webp"];
    expect(ds.items.map((i) => i.id)).toEqual(ids);
    expect(ds.items.map((i) => i.path)).toEqual(ids.map((id) => path.join(root, ...id.split("/"))));
    expect(listImages(root)).toEqual({ root: path.resolve(root), items: ds.items });
  });

  it("a list of files keeps the paths as ids, in the order given; a toy-world folder lists its scenes; duplicates " +
      "are refused", async () => {
    const root = tmp();
    await writeImage(path.join(root, "x", "2.png"), "png");
    await writeImage(path.join(root, "1.png"), "png");
    const two = path.join(root, "x", "2.png"),
      one = path.join(root, "1.png");
    expect(listImages([two, one]).items).toEqual([
      { id: two, path: two },
      { id: one, path: one },
    ]);
    expect(listImages([one, two]).items).toEqual([
      { id: one, path: one },
      { id: two, path: two },
    ]);
    expect(() => listImages([one, two, one])).toThrow(/listed twice/);
    expect(() => listImages([])).toThrow(ClipNadError);
    const toy = tmp();
    await writeToyDataset(toy, { n: 3, seed: 1, size: 16 });
    expect(listImages(toy).items.map((i) => i.id)).toEqual([
      "images/000000.png",
      "images/000001.png",
      "images/000002.png",
    ]);
  });

  it("names the folder when it is missing or has no images", () => {
    const root = tmp();
    expect(() => readImageFolder(path.join(root, "nope"))).toThrow(/nope: no such image file or folder/);
    fs.writeFileSync(path.join(root, "readme.txt"), "no images");
    expect(() => readImageFolder(root)).toThrow(new RegExp(`${root}: no images found`));
    expect(() => readImageFolder(path.join(root, "readme.txt"))).toThrow(/not a folder/);
  });
});

describe("ImageNet", () => {
  const wnidA = classes.wnids[0], wnidB = classes.wnids[207]; // tench, golden retriever

  it("reads the class-subfolder val layout", async () => {
    const root = tmp();
    await writeImage(path.join(root, "val", wnidB, "ILSVRC2012_val_00000002.JPEG"));
    await writeImage(path.join(root, "val", wnidA, "ILSVRC2012_val_00000001.JPEG"));
    const ds = readImageNetVal(root);
    expect(ds.items.map((i) => [i.id, i.label, i.labelName])).toEqual([
      [`val/${wnidA}/ILSVRC2012_val_00000001.JPEG`, 0, "tench"],
      [`val/${wnidB}/ILSVRC2012_val_00000002.JPEG`, 207, "golden retriever"],
    ]);
    expect(ds.classNames!.length).toBe(1000);
  });

  it("reads a flat val folder with LOC_val_solution.csv", async () => {
    const root = tmp();
    await writeImage(path.join(root, "val", "ILSVRC2012_val_00000001.JPEG"));
    await writeImage(path.join(root, "val", "ILSVRC2012_val_00000002.JPEG"));
    fs.writeFileSync(path.join(root, "LOC_val_solution.csv"),
      `ImageId,PredictionString\nILSVRC2012_val_00000002,${wnidA} 1 2 3 4 ${wnidA} 5 6 7 8\nILSVRC2012_val_00000001,${wnidB} 0 0 3 3\n`);
    expect(readImageNetVal(root).items.map((i) => [i.id, i.label])).toEqual([
      ["val/ILSVRC2012_val_00000001.JPEG", 207], ["val/ILSVRC2012_val_00000002.JPEG", 0],
    ]);
    fs.writeFileSync(path.join(root, "LOC_val_solution.csv"), `ImageId,PredictionString\nILSVRC2012_val_00000002,${wnidA} 1 2 3 4\n`);
    expect(() => readImageNetVal(root)).toThrow(/LOC_val_solution\.csv, key 'ILSVRC2012_val_00000001': no row/);
  });

  it("reads a flat val folder with the ground-truth txt and the devkit meta.mat (compressed or not)", async () => {
    for (const compress of [false, true]) {
      const root = tmp();
      await writeImage(path.join(root, "ILSVRC2012_val_00000001.JPEG"));
      await writeImage(path.join(root, "ILSVRC2012_val_00000002.JPEG"));
      const data = path.join(root, "ILSVRC2012_devkit_t12", "data");
      fs.mkdirSync(data, { recursive: true });
      fs.writeFileSync(path.join(data, "ILSVRC2012_validation_ground_truth.txt"), "490\n65\n");
      const synsets = mat.structRow([
        { ILSVRC2012_ID: mat.num([65]), WNID: mat.str(wnidB), words: mat.str("golden retriever") },
        { ILSVRC2012_ID: mat.num([490]), WNID: mat.str(wnidA), words: mat.str("tench, Tinca tinca") },
      ]);
      fs.writeFileSync(path.join(data, "meta.mat"), encodeMat({ synsets }, compress));
      expect(readImageNetVal(root).items.map((i) => [i.id, i.labelName])).toEqual([
        ["ILSVRC2012_val_00000001.JPEG", "tench"], ["ILSVRC2012_val_00000002.JPEG", "golden retriever"],
      ]);
      fs.rmSync(path.join(data, "meta.mat"));
      expect(() => readImageNetVal(root)).toThrow(/missing ILSVRC2012_devkit_t12\/data\/meta\.mat/);
    }
  });

  it("reports a flat folder without labels and an unknown WNID", async () => {
    const root = tmp();
    await writeImage(path.join(root, "val", "x_1.JPEG"));
    expect(() => readImageNetVal(root)).toThrow(/missing LOC_val_solution\.csv or ILSVRC2012_validation_ground_truth\.txt/);
    fs.mkdirSync(path.join(root, "val2", "n99999999"), { recursive: true });
    await writeImage(path.join(root, "val2", "n99999999", "a.JPEG"));
    expect(() => readImageNetVal(path.join(root, "val2"))).toThrow(/unknown WNID 'n99999999'/);
  });

  it("subsamples the test split: every 20th sorted file, then stride", async () => {
    const root = tmp();
    for (let i = 100; i >= 1; i--) fs.copyFileSync(await ensureJpeg(), path.join(root, `ILSVRC2012_test_${String(i).padStart(8, "0")}.JPEG`));
    const every = readImageNetTest(root);
    const names = [1, 21, 41, 61, 81].map((n) => `ILSVRC2012_test_${String(n).padStart(8, "0")}.JPEG`);
    expect(every.items.map((i) => i.id)).toEqual(names);
    expect(readImageNetTest(root, { stride: 2 }).items.length).toBe(3);
    expect(readImageNetTest(root, { every: 1, stride: 10 }).items.length).toBe(10);
    expect(every.items.every((i) => i.label === undefined)).toBe(true);
  });
});

let jpeg: string | undefined;
async function ensureJpeg(): Promise<string> {
  if (!jpeg) {
    jpeg = path.join(tmp(), "one.jpg");
    await writeImage(jpeg);
  }
  return jpeg;
}

describe("PASCAL Context", () => {
  async function makeVoc(root: string, ids: string[]): Promise<void> {
    const voc = path.join(root, "VOC2010");
    fs.mkdirSync(path.join(voc, "ImageSets", "SegmentationContext"), { recursive: true });
    for (const id of ids) {
      await writeImage(path.join(voc, "JPEGImages", `${id}.jpg`));
      fs.mkdirSync(path.join(voc, "SegmentationClassContext"), { recursive: true });
      const raw = Uint8Array.from([0, 1, 59, 12]);
      await sharp(Buffer.from(raw), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace("b-w").png()
        .toFile(path.join(voc, "SegmentationClassContext", `${id}.png`));
    }
    fs.writeFileSync(path.join(voc, "ImageSets", "SegmentationContext", "val.txt"), ids.join("\n") + "\n");
  }

  it("reads the val split with 59 and 60 classes and decodes masks", async () => {
    const root = tmp();
    await makeVoc(root, ["2008_000002", "2008_000003"]);
    const ds59 = readPascalContext(root);
    // ids relative to the VOC2010 folder, whichever folder was given
    expect(ds59.items.map((i) => i.id)).toEqual(["JPEGImages/2008_000002.jpg", "JPEGImages/2008_000003.jpg"]);
    expect(ds59.classNames!.length).toBe(59);
    expect(ds59.classNames![0]).toBe("aeroplane");
    const ds60 = readPascalContext(path.join(root, "VOC2010"), { classes: 60 });
    expect(ds60.classNames!.length).toBe(60);
    expect(ds60.items.map((i) => i.id)).toEqual(ds59.items.map((i) => i.id));
    expect(ds60.classNames![0]).toBe("background");
    const m59 = await readContextMask(ds59.items[0].maskPath!, 59);
    expect(Array.from(m59.labels)).toEqual([255, 0, 58, 11]);
    const m60 = await readContextMask(ds60.items[0].maskPath!, 60);
    expect(Array.from(m60.labels)).toEqual([0, 1, 59, 12]);
    expect(Array.from(contextLabels(Uint8Array.from([60]), 60))).toEqual([255]);
  });

  it("names the missing folder, list or file", async () => {
    const root = tmp();
    await makeVoc(root, ["a"]);
    fs.rmSync(path.join(root, "VOC2010", "JPEGImages", "a.jpg"));
    expect(() => readPascalContext(root)).toThrow(/1 file\(s\) listed in the split are missing, e\.g\. .*a\.jpg/);
    fs.rmSync(path.join(root, "VOC2010", "SegmentationClassContext"), { recursive: true });
    expect(() => readPascalContext(path.join(root, "VOC2010"))).toThrow(/SegmentationClassContext: missing SegmentationClassContext folder/);
    expect(() => readPascalContext(root, { split: "test" })).toThrow(ClipNadError);
  });
});

describe("toy world reader", () => {
  it("reads index.jsonl back with labels, masks, captions and years", async () => {
    const root = tmp();
    await writeToyDataset(root, { n: 6, seed: 4, size: 24, drift: "star:0.1->0.9,years:2001-2002" });
    const ds = readToyDataset(root);
    expect(ds.items.length).toBe(6);
    // ids are the image paths relative to the dataset root; the index's record id is kept in meta.record
    const records = fs.readFileSync(path.join(root, "index.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(ds.items.map((i) => [i.id, i.meta!.record])).toEqual(records.map((r) => [r.image, r.id]));
    expect(ds.classNames).toContain("star");
    for (const it of ds.items) {
      expect(fs.existsSync(it.path)).toBe(true);
      expect(fs.existsSync(it.maskPath!)).toBe(true);
      expect(ds.classNames![it.label!]).toBe((it.meta!.labels as Record<string, string>).shape);
      expect((it.meta!.captions as string[]).length).toBe(5);
    }
    expect(ds.items.map((i) => i.year)).toEqual([2001, 2001, 2001, 2002, 2002, 2002]);
    const byColour = readToyDataset(root, { labelBy: "colour" });
    expect(byColour.classNames!.length).toBe(10);
  });

  it("names the file and line of a malformed index", () => {
    const root = tmp();
    expect(() => readToyDataset(root)).toThrow(/index\.jsonl: missing toy-world index\.jsonl/);
    fs.writeFileSync(path.join(root, "index.jsonl"), '{"id":"0","image":"images/0.png","labels":{"shape":"circle"}}\n{oops\n');
    expect(() => readToyDataset(root)).toThrow(/line 2 is not JSON/);
  });
});
