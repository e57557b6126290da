#!/usr/bin/env bash
# The toy segmentation benchmark: N toy-world scenes on 256×256 canvases at the training scale (objects, fills and
# textures as in 128-px scenes), classes = background + the 10 colours, each of the six methods evaluated with
# `clip-nad segment-eval` (slide 128,64 on the toy model), then a table of mIoU / aAcc.
# Usage: bash bench/segment/toy_miou.sh [N=200] [WORK=bench/out/segment] [extra segment-eval flags…]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-200}
WORK=${2:-bench/out/segment}
shift $(( $# > 2 ? 2 : $# )) || true
DATA="$WORK/toy-canvas-$N"
[ -f "$DATA/index.jsonl" ] || node src/cli/bin.cjs toyworld --out "$DATA" --n "$N" --seed 31 --canvas 256x256 --quiet
for m in pairs neurons heads maskclip maskclip+pos selfself; do
  node src/cli/bin.cjs segment-eval --dataset toy --root "$DATA" --method "$m" --out "$WORK/eval-$N-$m" --quiet "$@"
done
node -e '
const fs = require("fs");
const [work, n] = process.argv.slice(1);
console.log("| method | mIoU | aAcc | mAcc |\n|---|---|---|---|");
for (const m of ["pairs", "neurons", "heads", "maskclip", "maskclip+pos", "selfself"]) {
  const r = JSON.parse(fs.readFileSync(`${work}/eval-${n}-${m}/miou.json`, "utf8"));
  console.log(`| ${m} | ${r.mIoU.toFixed(2)} | ${r.aAcc.toFixed(2)} | ${r.mAcc.toFixed(2)} |`);
}' "$WORK" "$N"
