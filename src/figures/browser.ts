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
    throw new ClipNadError("Chromium not found (apt-get install --no-install-recommends chromium, or set CLIP_NAD_CHROMIUM)", { file: p });
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
