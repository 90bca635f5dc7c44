#!/usr/bin/env bash
# Builds every package: generated protocol types, then TypeScript project references, then the dashboard's bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/gen-proto.sh
node scripts/prune-dist.js
npx --no-install tsc -b tsconfig.json
# The dashboard's browser bundle (esbuild), served by the control plane at /ui/.
node apps/dashboard/build.mjs
# The container launcher (libs/runtime/native): posix_spawn'd by the agent for every container start,
# so that a start forks nothing of the agent. gcc comes from setup.sh (Debian's gcc and libc6-dev).
launcher_src=libs/runtime/native/tide-launch.c
launcher=libs/runtime/dist/native/tide-launch
if [ ! -x "$launcher" ] || [ "$launcher_src" -nt "$launcher" ]; then
  mkdir -p "$(dirname "$launcher")"
  gcc -O2 -Wall -Wextra -Werror -o "$launcher" "$launcher_src"
fi
