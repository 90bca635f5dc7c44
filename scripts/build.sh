#!/usr/bin/env bash
# Builds every package: generated protocol types, then TypeScript project references, then the dashboard's bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/gen-proto.sh
node scripts/prune-dist.js
npx --no-install tsc -b tsconfig.json
# The dashboard's browser bundle (esbuild), served by the control plane at /ui/.
node apps/dashboard/build.mjs
# The container launcher and the container init (libs/runtime/native): the agent posix_spawns the
# launcher for every container start, so that a start forks nothing of the agent; the launcher clones
# the init and execs it (static: its exec maps one file, and no loader runs). gcc comes from setup.sh
# (Debian's gcc and libc6-dev, libc.a included).
native=libs/runtime/native
native_out=libs/runtime/dist/native
# OUTPUT FLAGS SOURCES...: built again when a source or header beside them is newer than OUTPUT.
build_native() {
  local out=$1 flags=$2
  shift 2
  if [ ! -x "$out" ] || [ -n "$(find "$(dirname "$1")" -maxdepth 1 -name '*.[ch]' -newer "$out")" ]; then
    mkdir -p "$(dirname "$out")"
    gcc -O2 -Wall -Wextra -Werror $flags -o "$out" "$@"
  fi
}
build_native "$native_out/tide-launch" "" "$native/tide-launch.c"
build_native "$native_out/tide-init" "-static" "$native"/init/*.c
