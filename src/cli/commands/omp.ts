import * as path from "path";
import { Command } from "commander";
import { ClipNadError } from "../../errors";
import { readNpy } from "../../io/npy";
import { Matrix, OmpPrecision, sparseEncode, writeCodesNpz } from "../../analysis/omp";
import { positiveInt } from "../modelOption";
import { Progress } from "../progress";

/** A 2-D float .npy as a Matrix (float32 or float64), with the file named in every error. */
export function readMatrixNpy(file: string, what: string): Matrix {
  const a = readNpy(file);
  if (!(a.data instanceof Float32Array) && !(a.data instanceof Float64Array)) {
    throw new ClipNadError(`${what} must be float32 or float64, got ${a.dtype}`, { file });
  }
  if (a.shape.length !== 2)
    throw new ClipNadError(`${what} must be a 2-D array (rows × dimensions), got shape (${a.shape.join(", ")})`, {
      file,
    });
  if (a.shape[0] === 0 || a.shape[1] === 0)
    throw new ClipNadError(`${what} is empty (shape (${a.shape.join(", ")}))`, { file });
  return { data: a.data, rows: a.shape[0], cols: a.shape[1] };
}

/**
 * `clip-nad omp`: the raw sparse coding of signals over a dictionary, exactly sklearn's
 * SparseCoder(transform_algorithm='omp', transform_n_nonzero_coefs=m).transform(X) — no normalisation applied.
 * Writes the N×K codes as a scipy CSR .npz (scipy.sparse.load_npz opens it). Long runs resume from --work.
 */
export function register(program: Command): void {
  program
    .command("omp")
    .description(
      "sparse codes by orthogonal matching pursuit (sklearn SparseCoder 'omp' semantics): rows of D are atoms, rows " +
        "of X signals; writes an N×K scipy CSR .npz",
    )
    .requiredOption("--dictionary <D.npy>", "K×d atoms (float32 or float64 .npy; not normalised)")
    .requiredOption("--signals <X.npy>", "N×d signals (float32 or float64 .npy)")
    .requiredOption("--nonzero <m>", "non-zero coefficients per signal (sklearn transform_n_nonzero_coefs)")
    .requiredOption("--out <codes.npz>", "the N×K codes (scipy.sparse.save_npz format, CSR)")
    .option(
      "--precision <p>",
      "float32 | float64 (default: float64 when either input is float64, as sklearn computes in the input dtype)",
    )
    .option(
      "--work <dir>",
      "chunk files and a progress record; an interrupted run resumes from here (default: <out>.work, removed on " +
        "success)",
    )
    .option("--chunk <n>", "signals per chunk")
    .option("--threads <n>", "worker threads for the pursuits (default 1; they share the Gram matrix)")
    .option("--quiet", "no progress output")
    .action(async (o) => {
      const out: string = o.out;
      if (!out.toLowerCase().endsWith(".npz")) throw new ClipNadError("--out must name a .npz file", { file: out });
      if (o.precision !== undefined && o.precision !== "float32" && o.precision !== "float64") {
        throw new ClipNadError(`--precision must be float32 or float64, got '${o.precision}'`);
      }
      const m = positiveInt("nonzero", o.nonzero);
      const D = readMatrixNpy(o.dictionary, "the dictionary");
      const X = readMatrixNpy(o.signals, "the signals");
      const progress = new Progress("omp", { total: X.rows, unit: "signals", quiet: o.quiet });
      const started = Date.now();
      let first = true;
      try {
        const codes = await sparseEncode(D, X, {
          nonzero: m,
          precision: o.precision as OmpPrecision | undefined,
          chunkRows: o.chunk === undefined ? undefined : positiveInt("chunk", o.chunk),
          threads: o.threads === undefined ? undefined : positiveInt("threads", o.threads),
          workDir: o.work ?? `${out}.work`,
          files: { dictionary: o.dictionary, signals: o.signals },
          onProgress: (done, total) => {
            if (first && done > 0) progress.resumed(done);
            first = false;
            progress.update(done, total);
          },
        });
        progress.stop();
        writeCodesNpz(out, codes);
        const early = Object.entries(codes.earlyStops).filter(([, v]) => v > 0);
        console.log(
          `omp: ${codes.N} signals × ${codes.K} atoms (d = ${D.cols}), m = ${m}, ${codes.precision}; ` +
            `${codes.indptr[codes.N]} non-zeros in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
        const sec = codes.seconds;
        if (sec)
          console.log(
            `  Gram ${sec.gram.toFixed(2)} s, correlations ${sec.correlations.toFixed(2)} s, pursuits ` +
              `${sec.pursuit.toFixed(2)} s (${((1000 * sec.pursuit) / Math.max(1, codes.N)).toFixed(2)} ms per signal)`,
          );
        if (early.length) {
          const n = early.reduce((a, [, v]) => a + v, 0);
          console.log(
            `  ${n} signal(s) ended early with fewer than ${m} atoms (as sklearn's "ended prematurely"): ` +
              early.map(([k, v]) => `${k} ${v}`).join(", "),
          );
        }
        console.log(`wrote ${path.resolve(out)}`);
      } finally {
        progress.stop();
      }
    });
}
