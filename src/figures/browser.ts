/**
 * Headless system Chromium through playwright-core (no downloaded browser). Node-only. Flags from
 * shared/docs/toolchain.md §4: no sandbox (root), no GPU, no network chatter (everything here is offline).
 */
import * as fs from "fs";
import type { Browser } from "playwright-core";
import { ClipNadError } from "../errors";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** $CLIP_NAD_CHROMIUM, else /usr/bin/chromium. */
export function chromiumPath(): string {
  const p = process.env.CLIP_NAD_CHROMIUM || "/usr/bin/chromium";
  if (!fs.existsSync(p)) {
    throw new ClipNadError(
      "Chromium not found (install Debian's chromium package, or set CLIP_NAD_CHROMIUM to its path)",
      { file: p },
    );
  }
  return p;
}

/** Run fn with a fresh headless browser, always closed afterwards. */
export async function withBrowser<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

export interface RenderedPlots {
  /** One entry per plotly plot on the page: drawn size and number of trace groups. */
  plots: { w: number; h: number; traces: number }[];
  /** Requests that would have left the machine (refused). */
  blocked: string[];
  /** Uncaught page errors. */
  errors: string[];
}

/** Open a local HTML file with the network refused and report what plotly drew (used to check exported pages). */
export async function inspectRenderedPlots(file: string, timeoutMs = 60_000): Promise<RenderedPlots> {
  const { pathToFileURL } = await import("url");
  return withBrowser(async (browser) => {
    const page = await browser.newPage();
    const blocked: string[] = [];
    const errors: string[] = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    await page.waitForSelector(".plot-container svg.main-svg", { timeout: timeoutMs });
    const plots = await page.$$eval(".plot-container", (els) =>
      els.map((el) => {
        const svg = el.querySelector("svg.main-svg");
        const r = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
        return { w: r.width, h: r.height, traces: el.querySelectorAll("g.trace").length };
      }),
    );
    return { plots, blocked, errors };
  });
}
