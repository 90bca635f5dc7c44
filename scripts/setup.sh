#!/usr/bin/env bash
# Installs everything Tide needs on a Debian machine, idempotently: Debian packages, npm packages,
# then builds the workspace. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v etcd >/dev/null || need+=(etcd-server)
# etcdctl: the fencing e2e test edits a store as an operator restoring records would.
command -v etcdctl >/dev/null || need+=(etcd-client)
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx ps || need+=(busybox-static)
command -v ip >/dev/null || need+=(iproute2)
# Bridge networking: outbound NAT and forwarding rules (nsenter comes with util-linux, always there).
command -v iptables >/dev/null || [ -x /usr/sbin/iptables ] || need+=(iptables)
command -v runc >/dev/null || need+=(runc)
# libs/pki's interop tests let Debian's openssl judge the certificates it makes.
command -v openssl >/dev/null || need+=(openssl)
# Prometheus and promtool: the metrics e2e test runs a real server; promtool checks every endpoint.
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
# The proxy benchmark's reference and load generator (npm run bench -- proxy).
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
# The embedded registry (the CNCF distribution registry, started by tsctl up through the control plane)
# and the ecosystem's tools the registry e2e test checks it against.
command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
command -v umoci >/dev/null || need+=(umoci)
# The dashboard e2e test drives Debian's Chromium, headless, with playwright-core (npm).
command -v chromium >/dev/null || need+=(chromium)
# The docker e2e test drives tsctl docker-serve with Debian's docker CLI (/usr/bin/docker). The package
# also ships dockerd and containerd: policy-rc.d below keeps them from starting, and nothing starts them.
[ -x /usr/bin/docker ] || need+=(docker.io)
# The compose e2e test drives the same API with Debian's docker-compose (1.29, Python: a client only).
[ -x /usr/bin/docker-compose ] || need+=(docker-compose)
# The container launcher and the container init (libs/runtime/native, built by build.sh; the init
# links statically, hence libc.a) and the seccomp tests' static probe (raw system calls inside a
# container) are compiled with Debian's gcc.
command -v gcc >/dev/null && [ -e "$(gcc -print-file-name=libc.a)" ] || need+=(gcc libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The prometheus and docker-registry packages start their daemons (on every interface, ports 9090
  # and 5000) unless policy-rc.d says no: tests start their own server on loopback, so nothing is started at install.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
bash scripts/build.sh
# tsctl on PATH: a link to this checkout's scripts/tsctl. Made when missing, or when it points nowhere
# (a checkout since removed); one pointing at another checkout is left alone (TIDE_TSCTL_LINK=force moves it).
link="${TIDE_TSCTL_BIN:-/usr/local/bin}/tsctl"
target="$PWD/scripts/tsctl"
if [ "$(readlink -f "$link" 2>/dev/null)" != "$(readlink -f "$target")" ]; then
  if [ ! -e "$link" ] || [ "${TIDE_TSCTL_LINK:-}" = force ]; then
    ln -sfn "$target" "$link" && echo "setup: $link -> $target"
  else
    echo "setup: $link is $(readlink -f "$link"), not this checkout's; TIDE_TSCTL_LINK=force bash scripts/setup.sh points it here"
  fi
fi
