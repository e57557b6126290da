#!/usr/bin/env bash
# The whole test suite: typecheck, vitest (unit, oracle, notebook, browser tests). Ends with `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
export JUPYTER_PATH="$PWD/build/jupyter"
fail=0
echo "== typecheck: src/kernel-ext/bench without DOM, tests with DOM (tsc, TS $(node -p 'require("typescript/package.json").version'))"
if node node_modules/typescript/bin/tsc -p . --noEmit && node node_modules/typescript/bin/tsc -p test --noEmit; then tc_pass=1; tc_fail=0; else tc_pass=0; tc_fail=1; fi
echo "== vitest"
node node_modules/vitest/vitest.mjs run --config test/vitest.config.mts --reporter=default --reporter=json --outputFile.json=build/vitest.json "$@"
vrc=$?
node -e '
const fs = require("fs");
let p = 0, f = 0;
try { const r = JSON.parse(fs.readFileSync("build/vitest.json", "utf8")); p = r.numPassedTests; f = r.numFailedTests + (r.numFailedTestSuites || 0); } catch { f = 1; }
p += Number(process.argv[1]); f += Number(process.argv[2]);
if (Number(process.argv[3]) !== 0 && f === 0) f = 1;
console.log(`${p} passed, ${f} failed`);
process.exit(f > 0 ? 1 : 0);
' "$tc_pass" "$tc_fail" "$vrc"
