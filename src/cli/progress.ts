import { Presets, SingleBar } from "cli-progress";

/**
 * Progress reporting for CLI commands, on stderr (stdout stays clean for data):
 *  - on a TTY, a cli-progress bar with ETA; multi-item work shows it at once, single-step work (loading a model)
 *    only once it has taken longer than `delayMs`, so fast commands print no bar at all;
 *  - without a TTY (pipes, CI, logs, Slurm): a line every `intervalMs` (default 5 s) with the phase, done/total
 *    and the ETA, and one final line when the work ends; a resumed run says where it resumed.
 */

export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): boolean;
}

export interface ProgressOptions {
  /** Total units of work (items); omit for fraction-based work (0..1 reported through `message`). */
  total?: number;
  /** Unit name for the lines, e.g. "images". */
  unit?: string;
  stream?: ProgressStream;
  /** Print nothing at all. */
  quiet?: boolean;
  /** Milliseconds before a bar appears for single-step work (default 2000). */
  delayMs?: number;
  /** Without a TTY: milliseconds between lines (default 5000). */
  intervalMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export class Progress {
  private bar?: SingleBar;
  private readonly start: number;
  private readonly stream: ProgressStream;
  private readonly fractional: boolean;
  private total: number;
  private value = 0;
  private msg = "";
  private stopped = false;
  private lastLine: number;
  /** Items already done when this run started (a resumed run); the ETA counts only this run's rate. */
  private base = 0;

  constructor(private readonly label: string, private readonly opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.fractional = opts.total === undefined;
    this.total = opts.total ?? 100;
    this.start = this.now();
    this.lastLine = this.start;
    if (!this.fractional && this.total > 1) this.showBar(); // multi-item work: always a bar (on a TTY)
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private get tty(): boolean {
    return this.stream.isTTY === true;
  }

  private showBar(): void {
    if (this.bar || this.opts.quiet || !this.tty || this.stopped) return;
    this.bar = new SingleBar(
      {
        format: this.fractional
          ? `${this.label} [{bar}] {percentage}% | ETA {eta_formatted} | {msg}`
          : `${this.label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {msg}`,
        stream: this.stream as NodeJS.WritableStream,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      Presets.shades_classic,
    );
    this.bar.start(this.total, this.value, { msg: this.msg });
  }

  /** Say that `done` items were already done by an earlier run (printed once; the ETA ignores them). */
  resumed(done: number): void {
    if (done <= 0) return;
    this.base = done;
    this.value = Math.max(this.value, done);
    this.line(`${this.label}: resuming an interrupted run at ${done}/${this.total} ${this.opts.unit ?? "items"}`);
  }

  /** Items done so far (item-based work). */
  update(done: number, total?: number): void {
    if (total !== undefined && total !== this.total) {
      this.total = total;
      this.bar?.setTotal(total);
    }
    this.value = done;
    this.tick();
  }

  /** A phase message and, when known, the fraction done (fraction-based work, e.g. loadModel's onProgress). */
  message(msg: string, frac?: number): void {
    this.msg = msg;
    if (frac !== undefined && this.fractional) this.value = Math.round(Math.max(0, Math.min(1, frac)) * this.total);
    this.tick();
  }

  private eta(): number {
    const elapsed = (this.now() - this.start) / 1000;
    const doneHere = this.value - this.base;
    if (doneHere <= 0 || elapsed <= 0) return NaN;
    return ((this.total - this.value) * elapsed) / doneHere;
  }

  private tick(): void {
    if (!this.bar && this.now() - this.start >= (this.opts.delayMs ?? 2000)) this.showBar();
    this.bar?.update(this.value, { msg: this.msg });
    if (!this.tty && this.now() - this.lastLine >= (this.opts.intervalMs ?? 5000)) {
      this.lastLine = this.now();
      const where = this.fractional
        ? `${Math.round((100 * this.value) / this.total)}%`
        : `${this.value}/${this.total} ${this.opts.unit ?? "items"}`;
      this.line(`${this.label}: ${where}${this.msg ? ` (${this.msg})` : ""}, ${duration(this.elapsed())} elapsed, ETA ${duration(this.eta())}`);
    }
  }

  private line(text: string): void {
    if (this.opts.quiet || this.stopped) return;
    if (this.bar) return; // the bar shows it
    this.stream.write(`${text}\n`);
  }

  /** Elapsed seconds since the start. */
  elapsed(): number {
    return (this.now() - this.start) / 1000;
  }

  /** End the bar after an error: "<label>: failed after X s". */
  fail(): void {
    this.stop(`${this.label}: failed after ${this.elapsed().toFixed(1)} s`);
  }

  /** End the bar; prints `final` (default "<label>: done in X s") unless quiet. */
  stop(final?: string): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.bar) {
      this.bar.update(this.fractional ? this.total : this.value, { msg: this.msg });
      this.bar.stop();
    }
    if (this.opts.quiet) return;
    const unit = this.fractional ? "" : ` ${this.value} ${this.opts.unit ?? "items"}`;
    this.stream.write(`${final ?? `${this.label}: done${unit} in ${this.elapsed().toFixed(1)} s`}\n`);
  }
}

/**
 * One Progress per phase of a multi-phase job (phase name, done, total), as the analyses report it: a new phase
 * ends the previous bar and starts its own.
 */
export class PhasedProgress {
  private bar?: Progress;
  private phase = "";

  constructor(private readonly opts: { quiet?: boolean } = {}) {}

  /** Report (phase, done, total); usable directly as an analysis' onProgress. */
  readonly update = (phase: string, done: number, total: number): void => {
    if (phase !== this.phase) {
      this.bar?.stop();
      this.phase = phase;
      this.bar = new Progress(phase, { total, quiet: this.opts.quiet });
    }
    this.bar!.update(done, total);
  };

  stop(): void {
    this.bar?.stop();
  }
}
