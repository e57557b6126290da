/**
 * Shared helpers of the headless-Chromium browser tests: launch Debian's chromium through playwright-core with
 * the flags from toolchain.md §4, collect page errors, and measure click → updated view inside the page.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { chromium, BrowserContext, Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

export async function launch(): Promise<{ ctx: BrowserContext; page: Page; errors: string[]; close: () => Promise<void> }> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-nad-chromium-"));
  const ctx = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 1000 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error" && !/favicon/.test(m.text())) errors.push(`console: ${m.text()}`); });
  const close = async () => {
    await ctx.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  };
  return { ctx, page, errors, close };
}

/** Wait until the browser view has no request in flight. */
export async function idle(page: Page, timeout = 60_000): Promise<void> {
  await page.waitForFunction(() => {
    const root = document.querySelector(".nhb-root") as HTMLElement | null;
    return !!root && (root.dataset.busy ?? "0") === "0";
  }, undefined, { timeout });
}

/**
 * Click the heat-map pixel of (head, neuron) (index order, whole window shown) and return the ms from the click
 * to the frame after the detail panel shows a new pair of that head with no request in flight (measured in the
 * page with performance.now()). With more neurons than columns the pixel's best neuron is selected.
 */
export async function timedCellClick(page: Page, head: number, neuron: number, heads: number, neurons: number): Promise<number> {
  return page.evaluate(async ({ head, neuron, heads, neurons }) => {
    const canvas = document.querySelector(".nhb-canvas") as HTMLCanvasElement;
    const root = document.querySelector(".nhb-root") as HTMLElement;
    const r = canvas.getBoundingClientRect();
    const cols = canvas.width;
    const col = Math.floor((neuron * cols) / neurons);
    const x = r.left + ((col + 0.5) / cols) * r.width;
    const y = r.top + ((head + 0.5) / heads) * r.height;
    const header = () => document.querySelector(".nhb-detail .nhb-h")?.textContent ?? "";
    const before = header();
    const t0 = performance.now();
    canvas.dispatchEvent(new MouseEvent("click", { clientX: x, clientY: y, bubbles: true }));
    await new Promise<void>((resolve, reject) => {
      const give = setTimeout(() => reject(new Error(`no update after clicking head ${head}; header '${header()}'`)), 30_000);
      const check = () => {
        const h = header();
        if (h !== before && h.startsWith(`Pair: head ${head} · neuron `) && (root.dataset.busy ?? "0") === "0") { clearTimeout(give); resolve(); }
        else requestAnimationFrame(check);
      };
      check();
    });
    await new Promise((res) => requestAnimationFrame(() => res(null)));
    return performance.now() - t0;
  }, { head, neuron, heads, neurons });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for a server started next). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
