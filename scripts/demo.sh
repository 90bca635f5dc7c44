#!/usr/bin/env bash
# The main job: install everything, start a local two-node Tide cluster, apply the busybox example,
# build the example web service's image from its Dockerfile, run it, and reach it through the port it
# publishes on every node. Run as root on Debian. Stop it with: scripts/tsctl down
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
tsctl() { node apps/tsctl/dist/main.js "$@"; }
# How many replicas of service $1 are Running and ready (their readiness probes pass).
ready() {
  tsctl get replicas -o json | node -e 'const l=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(l.items.filter(r=>r.spec.service===process.argv[1]&&!r.metadata.deletionTimestamp&&r.status&&r.status.phase==="Running"&&r.status.ready).length)' "$1"
}
wait_ready() {
  echo "waiting for $2 ready replicas of service/$1..."
  for _ in $(seq 1 90); do
    [ "$(ready "$1")" -ge "$2" ] && return 0
    sleep 1
  done
  echo "service/$1 is not ready; see: scripts/tsctl describe service $1" >&2
  return 1
}
tsctl up --nodes 2
tsctl apply -f manifests/examples/hello.yaml
tsctl image build -t web:1 manifests/examples/web
tsctl apply -f manifests/examples/web.yaml
wait_ready hello 2
wait_ready web 2
tsctl get nodes
tsctl get services
tsctl get replicas -o wide
for address in $(tsctl get nodes -o json | node -e 'for (const n of JSON.parse(require("fs").readFileSync(0,"utf8")).items) console.log(n.spec.address)'); do
  printf 'http://%s:8080/ -> ' "$address"
  node -e 'fetch(process.argv[1]).then(r=>r.text()).then(t=>process.stdout.write(t),e=>{console.log(`unreachable: ${e.cause?.code??e.message}`);process.exitCode=1})' "http://$address:8080/"
done
