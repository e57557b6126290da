// The package's entry for Node (`require("clip-nad")`, `import clipNad from "clip-nad"`): the TypeScript sources
// run through tsx's CommonJS hook, so a clone needs no build step (the CLI, src/cli/bin.cjs, starts the same way).
// The hook is process-wide (tsx's scoped API rewrites require.resolve results, which the library relies on).
require("tsx/cjs");
module.exports = require("./src/index.ts");
