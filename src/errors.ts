/**
 * Errors raised by clip-nad for bad input. Every message names the file (and, where it applies, the
 * tensor key) so a researcher can tell at once which input is wrong and why.
 */
export class ClipNadError extends Error {
  /** The file the problem was found in, when there is one. */
  readonly file?: string;
  /** The tensor / record key involved, when there is one. */
  readonly key?: string;
  /** The same call may succeed later (an I/O failure such as a full disk), unlike a refusal of bad input. */
  readonly retryable: boolean;

  constructor(message: string, opts: { file?: string; key?: string; cause?: unknown; retryable?: boolean } = {}) {
    const where = [opts.file ? `${opts.file}` : "", opts.key ? `key '${opts.key}'` : ""].filter(Boolean).join(", ");
    super(where ? `${where}: ${message}` : message);
    this.name = "ClipNadError";
    this.file = opts.file;
    this.key = opts.key;
    this.retryable = opts.retryable ?? false;
    if (opts.cause !== undefined) (this as { cause?: unknown }).cause = opts.cause;
  }
}
