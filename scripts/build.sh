#!/usr/bin/env bash
# Builds every package: generated protocol types, then TypeScript project references, then the dashboard's bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/gen-proto.sh
node scripts/prune-dist.js
npx --no-install tsc -b tsconfig.json
# The dashboard's browser bundle (esbuild), served by the control plane at /ui/.
node apps/dashboard/build.mjs
