import { parentPort, workerData } from "worker_threads";
import { OMP_STOPS, OmpEncoder, OmpPrecision } from "./ompEncoder";

/**
 * One OMP worker: an OmpEncoder on the shared Gram matrix; each job encodes rows [start, start + count) of a shared
 * chunk of correlations and writes n, stop reason, atoms and coefficients into shared result arrays.
 */
interface Init {
  gram: SharedArrayBuffer;
  K: number;
  precision: OmpPrecision;
  m: number;
}
export interface OmpJob {
  xy: SharedArrayBuffer;
  start: number;
  count: number;
  n: SharedArrayBuffer;
  stops: SharedArrayBuffer;
  atoms: SharedArrayBuffer;
  coefs: SharedArrayBuffer;
}

const init = workerData as Init;
const f64 = init.precision === "float64";
const encoder = new OmpEncoder(
  { K: init.K, precision: init.precision, data: f64 ? new Float64Array(init.gram) : new Float32Array(init.gram) },
  init.m,
);
const { K, m } = init;
const idx = new Int32Array(m);
const cf = new Float64Array(m);

parentPort!.on("message", (job: OmpJob) => {
  try {
    const xy = f64 ? new Float64Array(job.xy) : new Float32Array(job.xy);
    const n = new Int32Array(job.n),
      stops = new Uint8Array(job.stops),
      atoms = new Int32Array(job.atoms);
    const coefs = f64 ? new Float64Array(job.coefs) : new Float32Array(job.coefs);
    let reported = 0;
    for (let i = job.start; i < job.start + job.count; i++) {
      const res = encoder.encode(xy.subarray(i * K, (i + 1) * K), idx, cf);
      n[i] = res.n;
      stops[i] = OMP_STOPS.indexOf(res.stop);
      atoms.set(idx.subarray(0, res.n), i * m);
      for (let j = 0; j < res.n; j++) coefs[i * m + j] = cf[j];
      if (i - job.start + 1 - reported >= 16) {
        parentPort!.postMessage({ type: "progress", done: i - job.start + 1 - reported });
        reported = i - job.start + 1;
      }
    }
    parentPort!.postMessage({ type: "done", done: job.count - reported });
  } catch (e) {
    parentPort!.postMessage({ type: "error", message: e instanceof Error ? e.message : String(e) });
  }
});
