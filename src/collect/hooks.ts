/**
 * Test hooks for the resume tests (never set in normal use):
 *  - CLIP_NAD_COLLECT_DELAY_MS=t   sleep t ms after every committed batch, so a kill from outside lands mid-run;
 *  - CLIP_NAD_COLLECT_CRASH=name:n SIGKILL this process the n-th time it reaches the named point, to test the
 *                                  windows between writing data, fsync and the progress rename.
 */
const hits = new Map<string, number>();

export function crashPoint(name: string): void {
  const spec = process.env.CLIP_NAD_COLLECT_CRASH;
  if (!spec) return;
  const [want, nth] = spec.split(":");
  if (want !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n >= Number(nth ?? 1)) process.kill(process.pid, "SIGKILL");
}

export async function testDelay(): Promise<void> {
  const ms = Number(process.env.CLIP_NAD_COLLECT_DELAY_MS ?? 0);
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}
