#!/usr/bin/env bash
# Peak resident memory (GNU time's "Maximum resident set size") of clip-nad commands on a random RN50x16-shaped
# checkpoint (bench/memory/make_checkpoint.ts: fp16 safetensors, 582 MB, 290 M parameters).
#   bash bench/memory/run.sh [CHECKOUT]   CHECKOUT: the clip-nad tree whose src/cli/bin.cjs runs (default: this one),
#                                          e.g. a `git worktree add /tmp/before <rev>` to measure an older revision.
# Prints one line per measurement; never a test (numbers depend on the machine and its allocator).
set -euo pipefail
HERE="$(cd "$(dirname "$0")/../.." && pwd)"
TREE="${1:-$HERE}"
OUT="$HERE/bench/out/memory"
CK="$OUT/RN50x16.safetensors"
mkdir -p "$OUT"
[ -f "$CK" ] || node "$HERE/node_modules/tsx/dist/cli.mjs" "$HERE/bench/memory/make_checkpoint.ts" --out "$CK"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
node "$HERE/src/cli/bin.cjs" toyworld --out "$WORK/images" --n 16 --seed 3 --quiet >/dev/null
export CLIP_NAD_CACHE="$WORK/cache"
measure() { # label, command...
  local label="$1"; shift
  /usr/bin/time -v "$@" >"$WORK/log" 2>&1 || { cat "$WORK/log"; exit 1; }
  local kb; kb=$(grep "Maximum resident" "$WORK/log" | awk '{print $NF}')
  local wall; wall=$(grep "Elapsed (wall clock)" "$WORK/log" | awk '{print $NF}')
  printf '%-44s %6.2f GB  (%s)\n' "$label" "$(echo "$kb / 1048576" | bc -l)" "$wall"
}
BIN="$TREE/src/cli/bin.cjs"
IMAGE="$WORK/images/images/000000.png"
measure "decompose, cold graph cache" node "$BIN" decompose --model "$CK" --image "$IMAGE" --out "$WORK/d1" --quiet
measure "decompose, warm graph cache" node "$BIN" decompose --model "$CK" --image "$IMAGE" --out "$WORK/d2" --quiet
measure "collect, 16 images, warm cache" \
  node "$BIN" collect --model "$CK" --images "$WORK/images" --out "$WORK/col" --quiet
if [ -f "$TREE/index.cjs" ]; then
  # The front door's one-line decomposition: the image plus the model's weight-only tables (w: 453 MB).
  cat >"$WORK/front.js" <<JS
const { loadModel } = require("$TREE/index.cjs");
(async () => { const m = await loadModel("$CK"); const im = await m.decompose("$WORK/images/images/000000.png");
  im.pair({ neuron: 0, head: 0 }); await m.dispose(); })();
JS
  measure "model.decompose(image) (front door)" node "$WORK/front.js"
fi
