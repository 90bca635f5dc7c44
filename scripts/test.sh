#!/usr/bin/env bash
# The test suite: unit tests of every package, then end-to-end tests that start real etcd, control
# plane, agents and containers. Needs root (namespaces, cgroups, mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Module boundaries (STYLE.md) and lint rules, checked by Nx over every project.
NX_DAEMON=false NX_NO_CLOUD=true npx --no-install nx run-many -t lint --outputStyle=static
# Unit specs, then each end-to-end file in a process and a temporary directory of its own, with a
# time limit, so that a hung file fails and is cleaned up instead of holding the suite (run-tests.js).
node scripts/run-tests.js "$@"
