#!/usr/bin/env bash
# The main job: install everything, start a local two-node Tide cluster, apply the example service
# and show its replicas running. Run as root on Debian. Stop it with: scripts/tsctl down
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
tsctl() { node apps/tsctl/dist/main.js "$@"; }
tsctl up --nodes 2
tsctl apply -f manifests/examples/hello.yaml
echo "waiting for the replicas of service/hello to run..."
for _ in $(seq 1 60); do
  running=$(tsctl get replicas -o json | node -e 'const l=JSON.parse(require("fs").readFileSync(0,"utf8"));const items=Array.isArray(l)?l:l.items;console.log(items.filter(r=>r.spec.service==="hello"&&r.status&&r.status.phase==="Running").length)')
  [ "$running" -ge 2 ] && break
  sleep 1
done
tsctl get nodes
tsctl get services
tsctl get replicas -o wide
