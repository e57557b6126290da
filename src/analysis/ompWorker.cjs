// Entry of an OMP worker thread (src/analysis/ompPool.ts): the TypeScript sources run through tsx, as the CLI's.
require("tsx/cjs");
require("./ompWorkerMain.ts");
