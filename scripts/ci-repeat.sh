#!/usr/bin/env bash
# Runs CI's command (`CI=true bash .ci/run`) several times in a row, each on a fresh clone of one
# commit, as issue 12's acceptance asks: `--loaded` keeps every core busy with a busy loop while the
# suite runs (as a shared CI machine would be). Stops at the first failure; each run's output is kept.
#
#   bash scripts/ci-repeat.sh [--loaded] [--runs N] [--out DIR] [COMMIT]
#
# COMMIT defaults to HEAD of this checkout. Outputs go to DIR (default /tmp/tide-ci-repeat), one
# run-K.log each, and a line per run to DIR/runs.txt: run, commit, exit code, seconds, load.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
loaded=0 runs=1 out=/tmp/tide-ci-repeat commit=HEAD
while [ $# -gt 0 ]; do
  case $1 in
    --loaded) loaded=1 ;;
    --runs) runs=${2:?--runs takes a number}; shift ;;
    --out) out=${2:?--out takes a directory}; shift ;;
    -*) echo "ci-repeat: unknown flag $1 (flags: --loaded, --runs N, --out DIR)" >&2; exit 2 ;;
    *) commit=$1 ;;
  esac
  shift
done
short=$(git -C "$repo" rev-parse --short "$commit^{commit}" 2>/dev/null) || { echo "ci-repeat: no commit $commit in $repo" >&2; exit 2; }
commit=$short
mkdir -p "$out"

busy=()
stop_busy() { [ ${#busy[@]} -eq 0 ] || kill "${busy[@]}" 2>/dev/null; busy=(); }
trap stop_busy EXIT

for ((k = 1; k <= runs; k++)); do
  clone=$(mktemp -d /tmp/tide-ci-clone.XXXXXX)
  git clone -q "$repo" "$clone" && git -C "$clone" checkout -q "$commit" || { echo "ci-repeat: cannot clone $commit" >&2; rm -rf "$clone"; exit 2; }
  if [ "$loaded" = 1 ]; then
    for ((c = 0; c < $(nproc); c++)); do (while :; do :; done) & busy+=($!); done
  fi
  started=$(date +%s)
  (cd "$clone" && CI=true bash .ci/run < /dev/null > "$out/run-$k.log" 2>&1)
  code=$?
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  stop_busy
  rm -rf "$clone"
  line="run $k commit $commit $([ "$loaded" = 1 ] && echo loaded || echo quiet) exit $code $(( $(date +%s) - started )) s load $load"
  echo "$line" | tee -a "$out/runs.txt"
  [ "$code" -eq 0 ] || { echo "ci-repeat: run $k failed: $out/run-$k.log" >&2; exit 1; }
done
