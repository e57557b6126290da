import { defineConfig } from "vitest/config";

export default defineConfig({
  root: new URL("..", import.meta.url).pathname,
  test: {
    include: ["test/**/*.test.ts", "widgets/**/*.test.ts", "kernel-ext/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: "forks",
    maxWorkers: 2,
    server: { deps: { inline: [/@jupyter\/web-components/, /@microsoft\/fast-/] } },
  },
});
