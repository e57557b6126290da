// The package's entry for Node (`require("clip-nad")`, `import clipNad from "clip-nad"`): the TypeScript sources
// run through tsx's require API (scoped to this load, no global hook), so a clone needs no build step.
module.exports = require("tsx/cjs/api").require("./src/index.ts", __filename);
