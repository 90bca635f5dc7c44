#!/usr/bin/env bash
# Builds every package: generated protocol types, then TypeScript project references.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/gen-proto.sh
node scripts/prune-dist.js
npx --no-install tsc -b tsconfig.json
