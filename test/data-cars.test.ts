import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { carYear, encodeMat, mat, parseMat, readStanfordCars } from "../src/data";
import { ClipNadError } from "../src/errors";

const tmpRoots: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "clipnad-cars-"));
  tmpRoots.push(d);
  return d;
}
afterAll(() => tmpRoots.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const NAMES = ["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "smart fortwo Convertible 2012"];

async function images(dir: string, names: string[]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (const n of names) await sharp({ create: { width: 3, height: 3, channels: 3, background: "#808080" } }).jpeg().toFile(path.join(dir, n));
}

function anno(fname: string, cls: number, box = [1, 2, 30, 40]): Record<string, ReturnType<typeof mat.num>> {
  return {
    bbox_x1: mat.num([box[0]]), bbox_y1: mat.num([box[1]]), bbox_x2: mat.num([box[2]]), bbox_y2: mat.num([box[3]]),
    class: mat.num([cls]), fname: mat.str(fname),
  };
}

describe("MAT v5 reader", () => {
  it("round-trips struct, cell, char (multi-row, column-major) and numeric arrays, compressed or not", () => {
    for (const compress of [false, true]) {
      const vars = {
        s: mat.structRow([{ a: mat.num([1, 2, 3]), b: mat.str("x") }, { a: mat.num([]), b: mat.cellRow([mat.str("yz")]) }]),
        names: { kind: "char" as const, dims: [2, 3], rows: ["abc", "def"] },
        m: mat.num([1, 2, 3, 4, 5, 6], [2, 3]),
      };
      const back = parseMat(encodeMat(vars, compress));
      expect(back.get("names")).toEqual({ kind: "char", dims: [2, 3], rows: ["abc", "def"] });
      const s = back.get("s")!;
      if (s.kind !== "struct") throw new Error("not a struct");
      expect(s.fields).toEqual(["a", "b"]);
      expect(Array.from((s.elements[0].a as { data: Float64Array }).data)).toEqual([1, 2, 3]);
      expect(s.elements[1].b).toEqual({ kind: "cell", dims: [1, 1], cells: [{ kind: "char", dims: [1, 2], rows: ["yz"] }] });
      expect(back.get("m")!.dims).toEqual([2, 3]);
    }
  });

  it("reads MATLAB's small data elements and uint8-stored doubles", () => {
    // Hand-built: double array 'ab' (1x2) stored as miUINT8 in a small element, name in a small element.
    const el = (type: number, payload: Buffer) => {
      const h = Buffer.alloc(8);
      h.writeUInt32LE(type, 0);
      h.writeUInt32LE(payload.length, 4);
      return Buffer.concat([h, payload, Buffer.alloc((8 - (payload.length % 8)) % 8)]);
    };
    const small = (type: number, payload: Buffer) => {
      const b = Buffer.alloc(8);
      b.writeUInt32LE(type | (payload.length << 16), 0);
      payload.copy(b, 4);
      return b;
    };
    const flags = Buffer.alloc(8);
    flags.writeUInt32LE(6, 0); // mxDOUBLE_CLASS
    const dims = Buffer.alloc(8);
    dims.writeInt32LE(1, 0);
    dims.writeInt32LE(2, 4);
    const body = Buffer.concat([el(6, flags), el(5, dims), small(1, Buffer.from("ab")), small(2, Buffer.from([7, 200]))]);
    const header = Buffer.alloc(128, 32);
    header.write("MATLAB 5.0 MAT-file, Platform: GLNXA64", 0, "latin1");
    header.writeUInt16LE(0x0100, 124);
    header.write("IM", 126, "latin1");
    const v = parseMat(Buffer.concat([header, el(14, body)])).get("ab")!;
    expect(v.kind === "numeric" && Array.from(v.data)).toEqual([7, 200]);
  });

  it("rejects non-MAT, v7.3 and truncated files with the file name", () => {
    expect(() => parseMat(Buffer.alloc(200), "x.mat")).toThrow(/x\.mat: not a MAT v5 file/);
    const h73 = Buffer.alloc(200, 32);
    h73.write("MATLAB 7.3 MAT-file", 0, "latin1");
    expect(() => parseMat(h73, "y.mat")).toThrow(/v7\.3/);
    const good = encodeMat({ v: mat.num([1, 2, 3]) });
    expect(() => parseMat(good.subarray(0, good.length - 10), "z.mat")).toThrow(/z\.mat: truncated MAT file/);
  });
});

describe("Stanford Cars", () => {
  it("reads the devkit .mat layout with years, boxes and the refined colour CSV", async () => {
    const root = tmp();
    await images(path.join(root, "cars_train"), ["00001.jpg", "00002.jpg", "00003.jpg"]);
    fs.mkdirSync(path.join(root, "devkit"));
    fs.writeFileSync(path.join(root, "devkit", "cars_meta.mat"), encodeMat({ class_names: mat.cellRow(NAMES.map(mat.str)) }, true));
    fs.writeFileSync(path.join(root, "devkit", "cars_train_annos.mat"),
      encodeMat({ annotations: mat.structRow([anno("00001.jpg", 1), anno("00002.jpg", 3), anno("00003.jpg", 2, [5, 6, 7, 8])]) }));
    const csv = path.join(root, "colours.csv");
    fs.writeFileSync(csv, "Class,image\n1_4,00001.jpg\n3_2,cars_train/00002.jpg\n");
    const ds = readStanfordCars(root, { colourCsv: csv });
    expect(ds.classNames).toEqual(NAMES);
    // ids are the image paths relative to the dataset root
    expect(ds.items.map((i) => [i.id, i.label, i.year])).toEqual([
      ["cars_train/00001.jpg", 0, 2000], ["cars_train/00002.jpg", 2, 2012], ["cars_train/00003.jpg", 1, 2012],
    ]);
    expect(ds.items[2].meta).toEqual({ bbox: [5, 6, 7, 8] });
    expect(ds.items[0].meta).toMatchObject({ colourId: 4, csvClass: 1 });
    expect(ds.items[1].meta).toMatchObject({ colourId: 2, csvClass: 3 });
    expect(readStanfordCars(root, { colourCsv: csv, onlyColoured: true }).items.length).toBe(2);
  });

  it("reads the CSV export (names.csv + anno_test.csv) and the JSON export", async () => {
    const root = tmp();
    await images(path.join(root, "cars_test"), ["00001.jpg", "00002.jpg"]);
    fs.writeFileSync(path.join(root, "names.csv"), NAMES.join("\n") + "\n");
    fs.writeFileSync(path.join(root, "anno_test.csv"), "00001.jpg,1,2,3,4,2\n00002.jpg,5,6,7,8,3\n");
    const ds = readStanfordCars(root, { split: "test" });
    expect(ds.items.map((i) => [i.id, i.labelName])).toEqual([
      ["cars_test/00001.jpg", NAMES[1]], ["cars_test/00002.jpg", NAMES[2]],
    ]);
    const j = tmp();
    await images(path.join(j, "cars_train"), ["a.jpg"]);
    fs.writeFileSync(path.join(j, "cars_meta.json"), JSON.stringify({ class_names: NAMES }));
    fs.writeFileSync(path.join(j, "cars_train_annos.json"), JSON.stringify([{ fname: "a.jpg", class: 1, bbox_x1: 0, bbox_y1: 0, bbox_x2: 2, bbox_y2: 2 }]));
    expect(readStanfordCars(j).items[0]).toMatchObject({ id: "cars_train/a.jpg", label: 0, year: 2000 });
  });

  it("names what is missing or malformed", async () => {
    const root = tmp();
    expect(() => readStanfordCars(root)).toThrow(/missing class names: devkit\/cars_meta\.mat/);
    fs.writeFileSync(path.join(root, "names.csv"), NAMES.join("\n"));
    expect(() => readStanfordCars(root)).toThrow(/missing train annotations: devkit\/cars_train_annos\.mat/);
    fs.writeFileSync(path.join(root, "anno_train.csv"), "00009.jpg,1,2,3,4,1\n");
    expect(() => readStanfordCars(root)).toThrow(/missing image folder cars_train/);
    await images(path.join(root, "cars_train"), ["00001.jpg"]);
    expect(() => readStanfordCars(root)).toThrow(/key '00009\.jpg': image '00009\.jpg' listed in the annotations is missing/);
    fs.writeFileSync(path.join(root, "anno_train.csv"), "00001.jpg,1,2,3,4,1\n");
    fs.writeFileSync(path.join(root, "c.csv"), "Class,image\nred,00001.jpg\n");
    expect(() => readStanfordCars(root, { colourCsv: path.join(root, "c.csv") })).toThrow(/Class 'red' is not '<classid>_<colorid>'/);
    fs.writeFileSync(path.join(root, "c.csv"), "klass,image\n");
    expect(() => readStanfordCars(root, { colourCsv: path.join(root, "c.csv") })).toThrow(ClipNadError);
  });

  it("takes the model year from the last word of the class name", () => {
    expect(carYear("AM General Hummer SUV 2000")).toBe(2000);
    expect(carYear("Some Car")).toBeUndefined();
  });
});
