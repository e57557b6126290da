#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx so a fresh clone needs no build step.
require("tsx/cjs");
require("./main.ts").main(process.argv).catch((err) => {
  console.error(`clip-nad: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
