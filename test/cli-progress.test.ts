import { describe, expect, it } from "vitest";
import { Progress, ProgressStream } from "../src/cli/progress";

/** A fake stderr: records writes; `isTTY` switches between the bar and the final-line-only modes. */
function fakeStream(isTTY: boolean): ProgressStream & { text: () => string; columns: number } {
  const chunks: string[] = [];
  return {
    isTTY,
    columns: 120,
    write(chunk: string) {
      chunks.push(String(chunk));
      return true;
    },
    text: () => chunks.join(""),
  } as ProgressStream & { text: () => string; columns: number };
}

function clock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe("CLI progress", () => {
  it("prints a line every interval on a non-TTY (phase, done/total, ETA), then a final line", () => {
    const s = fakeStream(false);
    const c = clock();
    const p = new Progress("embedding images", { total: 5, unit: "images", stream: s, now: c.now, intervalMs: 5000 });
    for (let i = 1; i <= 5; i++) {
      c.advance(1500);
      p.update(i);
    }
    // Lines at t = 6 s (4 done: 1.5 s per image → 1 left, ETA 2 s); nothing before 5 s.
    expect(s.text()).toBe("embedding images: 4/5 images, 6 s elapsed, ETA 2 s\n");
    p.stop();
    expect(s.text().split("\n")[1]).toBe("embedding images: done 5 images in 7.5 s");
  });

  it("says where a resumed run resumed, and its ETA counts only this run's rate", () => {
    const s = fakeStream(false);
    const c = clock();
    const p = new Progress("collect", { total: 100, unit: "images", stream: s, now: c.now, intervalMs: 1000 });
    p.resumed(60);
    expect(s.text()).toBe("collect: resuming an interrupted run at 60/100 images\n");
    c.advance(2000);
    p.update(70); // 10 images in 2 s → 30 left at 5/s = 6 s
    expect(s.text().split("\n")[1]).toBe("collect: 70/100 images, 2 s elapsed, ETA 6 s");
  });

  it("shows a bar with ETA at once for multi-item work on a TTY", () => {
    const s = fakeStream(true);
    const c = clock();
    const p = new Progress("embedding images", { total: 4, unit: "images", stream: s, now: c.now });
    c.advance(500);
    p.update(2);
    p.stop();
    const out = s.text();
    expect(out).toContain("embedding images [");
    expect(out).toContain("ETA");
    expect(out).toContain("/4");
    expect(out.trimEnd().endsWith("embedding images: done 2 images in 0.5 s")).toBe(true);
  });

  it("shows a bar for single-step work only after the delay", () => {
    const s = fakeStream(true);
    const c = clock();
    const p = new Progress("loading RN50", { stream: s, now: c.now, delayMs: 2000 });
    p.message("reading checkpoint", 0.2);
    expect(s.text()).toBe("");
    c.advance(2500);
    p.message("building image graph", 0.5);
    expect(s.text()).toContain("loading RN50 [");
    expect(s.text()).toContain("building image graph");
    p.stop("loaded RN50");
    expect(s.text().trimEnd().endsWith("loaded RN50")).toBe(true);
  });

  it("prints nothing when quiet, and a failure line on fail()", () => {
    const quiet = fakeStream(true);
    const q = new Progress("x", { total: 3, stream: quiet, quiet: true });
    q.update(3);
    q.stop();
    expect(quiet.text()).toBe("");
    const s = fakeStream(false);
    const c = clock();
    const p = new Progress("embedding texts", { total: 2, stream: s, now: c.now });
    c.advance(1200);
    p.fail();
    p.stop(); // a second stop is ignored
    expect(s.text()).toBe("embedding texts: failed after 1.2 s\n");
  });
});
