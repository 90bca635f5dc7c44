#!/usr/bin/env bash
# The test suite: unit tests of every package, then end-to-end tests that start real etcd, control
# plane, agents and containers. Needs root (namespaces, cgroups, mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Module boundaries (STYLE.md) and lint rules, checked by Nx over every project.
NX_DAEMON=false NX_NO_CLOUD=true npx --no-install nx run-many -t lint --outputStyle=static
mapfile -t unit < <(find libs apps e2e -path '*/node_modules' -prune -o -path '*/dist/*' -name '*.spec.js' -print | sort)
mapfile -t e2e < <(find e2e/dist -name '*.e2e.js' 2>/dev/null | sort)
# e2e tests share ports and the machine: run files one at a time. A file whose tests have all
# finished ends even if a handle leaked (a watch reconnecting to a stopped etcd kept one alive for
# good): the suite reports and goes on instead of hanging (--test-force-exit, Node 20.14 and later).
force=()
node -e 'const [major, minor] = process.versions.node.split(".").map(Number); process.exit(major > 20 || minor >= 14 ? 0 : 1)' && force=(--test-force-exit)
node --test --test-concurrency=1 "${force[@]}" "${unit[@]}" "${e2e[@]}"
