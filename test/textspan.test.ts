// TextSpan against a numpy transcription of clip_text_span's replace_with_iterative_removal
// (tools/oracle/omp_fixtures.py textspan_reference: SVD of the raw outputs, texts projected on the top-rank span,
// iterative removal with unnormalised texts), float64; the CLI's output file; bad input.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Matrix } from "../src/analysis/omp";
import { textSpan, textSpanReconstruct } from "../src/analysis/textspan";
import { readNpy, writeNpy } from "../src/io/npy";
import { register as registerTextSpan } from "../src/cli/commands/textspan";
import { runCommand } from "./cli-helpers";

const FIX = path.join(__dirname, "fixtures", "omp");
const spans = JSON.parse(fs.readFileSync(path.join(FIX, "textspan.json"), "utf8")) as Record<
  string,
  {
    iterations: number;
    rank: number;
    chosen: number[];
    variance: number[];
    totalVariance: number;
    reconstructFirstRows: number[][];
  }
>;
const matrix = (file: string): Matrix => {
  const a = readNpy(file);
  return { data: a.data as Float64Array, rows: a.shape[0], cols: a.shape[1] };
};
let tmp = "";
beforeAll(() => void (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-textspan-"))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("TextSpan = clip_text_span's iterative removal", () => {
  for (const [name, want] of Object.entries(spans)) {
    it(`${name}: same texts in the same order, same variances and reconstruction`, () => {
      const R = matrix(path.join(FIX, `textspan_${name}_R.npy`));
      const T = matrix(path.join(FIX, `textspan_${name}_T.npy`));
      const got = textSpan(R, T, { iterations: want.iterations, rank: want.rank });
      expect(got.chosen).toEqual(want.chosen);
      got.variance.forEach((v, i) => expect(Math.abs(v - want.variance[i])).toBeLessThan(1e-9 * want.totalVariance));
      expect(Math.abs(got.totalVariance - want.totalVariance)).toBeLessThan(1e-9 * want.totalVariance);
      const rec = textSpanReconstruct(got, R.data.subarray(0, 3 * R.cols), 3);
      want.reconstructFirstRows.flat().forEach((v, i) => expect(Math.abs(rec[i] - v)).toBeLessThan(1e-9));
    });
  }

  it("bad input: too many iterations for the rank, mismatched dimensions, NaN rows", () => {
    const R = matrix(path.join(FIX, "textspan_tall_R.npy"));
    const T = matrix(path.join(FIX, "textspan_tall_T.npy"));
    expect(() => textSpan(R, T, { iterations: 11, rank: 10 })).toThrow(/11 iterations exceed the rank 10/);
    expect(() =>
      textSpan(
        R,
        { data: T.data.subarray(0, 40 * 20), rows: 40, cols: 20 },
        { iterations: 2, rank: 5, files: { texts: "T.npy" } },
      ),
    ).toThrow("T.npy: texts have 20 dimensions, the outputs 24");
    const bad = Float64Array.from(R.data);
    bad[7 * 24 + 1] = NaN;
    expect(() => textSpan({ ...R, data: bad }, T, { iterations: 2, rank: 5, files: { outputs: "R.npy" } })).toThrow(
      "R.npy, key 'row 7': output row 7 holds a NaN",
    );
  });
});

describe("clip-nad textspan", () => {
  it("writes the chosen indices in order and the variance each explains", async () => {
    const out = path.join(tmp, "spans.json");
    const T = path.join(FIX, "textspan_tall_T.npy");
    const args = (R: string) =>
      ["textspan", "--outputs", R, "--texts", T, "--iterations", "6", "--rank", "10", "--out", out];
    const text = await runCommand(registerTextSpan, args(path.join(FIX, "textspan_tall_R.npy")));
    expect(text).toContain(`chose ${spans.tall.chosen.join(", ")}`);
    const got = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(got.chosen).toEqual(spans.tall.chosen);
    got.fractionOfVariance.forEach((f: number, i: number) =>
      expect(f).toBeCloseTo(spans.tall.variance[i] / spans.tall.totalVariance, 9),
    );
    const f32 = path.join(tmp, "R32.npy");
    writeNpy(f32, new Float32Array(5), [5]);
    await expect(runCommand(registerTextSpan, args(f32))).rejects.toThrow(`${f32}: the outputs must be a 2-D array`);
  });
});
