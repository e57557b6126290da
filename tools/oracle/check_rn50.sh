#!/usr/bin/env bash
# Generate the RN50-shaped fixtures if absent (git-ignored, ~2.0 GB, a few minutes on 2 cores), then read every
# checkpoint format with the TypeScript reader and compare with the reference (tools/oracle/check-rn50.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -f fixtures-large/rn50/io.safetensors ]; then
  nice -n 10 /usr/bin/python3 tools/oracle/make_fixtures.py --rn50
fi
node --max-old-space-size=6144 node_modules/tsx/dist/cli.mjs tools/oracle/check-rn50.ts
