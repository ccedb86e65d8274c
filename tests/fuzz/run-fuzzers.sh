#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the fuzz preset (clang 14, libFuzzer + ASan + UBSan) and runs every harness for SECONDS
# (default 60) on its corpus: build/fuzz/corpus/NAME (grows from run to run), the seeds
# (build/fuzz/seeds/NAME, made once by make-seeds.sh with the tools of build/ci or build/release)
# and the regression inputs (tests/fuzz/regressions/NAME). Prints executions and coverage per
# harness; a crash leaves its input in build/fuzz/artifacts/NAME/ and the script exits 1.
#   usage: tests/fuzz/run-fuzzers.sh [SECONDS] [NAME...]
#   env: FUZZ_JOBS (harnesses run at once, default 1), CUSTODY_SEED_TOOLS (tools for the seeds),
#        FUZZ_NO_BUILD=1 (run the harnesses as built)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
# shellcheck disable=SC2207
all=($(sed -n 's/^set(custody_fuzz_harnesses//; s/)$//; /^#/d; p' tests/fuzz/harnesses.cmake | tr -s ' \n' ' '))
harnesses=("${all[@]}")
[ $# -gt 0 ] && harnesses=("$@")

if [ -z "${FUZZ_NO_BUILD:-}" ]; then
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "${BUILD_JOBS:-2}" >/dev/null
fi

build=build/fuzz
if [ ! -d "$build/seeds" ]; then
  tools=${CUSTODY_SEED_TOOLS:-}
  for candidate in build/ci/tools build/release/tools; do
    [ -z "$tools" ] && [ -x "$candidate/custody-acquire" ] && tools=$candidate
  done
  if [ -z "$tools" ]; then
    cmake --preset release >/dev/null && cmake --build --preset release -j "${BUILD_JOBS:-2}" >/dev/null
    tools=build/release/tools
  fi
  tests/fuzz/make-seeds.sh "$tools" "$build/seeds.tmp" >/dev/null
  mv "$build/seeds.tmp" "$build/seeds"
fi

export TMPDIR=${FUZZ_TMPDIR:-/dev/shm}
[ -w "$TMPDIR" ] || export TMPDIR=/tmp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

fuzz_one() {
  local name=$1 log=$build/logs/$1.log
  mkdir -p "$build/corpus/$name" "$build/artifacts/$name" "$build/logs" "$build/seeds/$name"
  local dict=()
  case $name in
    record | custody_log | proof | envelope_index) dict=(-dict=tests/fuzz/json.dict) ;;
  esac
  set +e
  "$build/tests/fuzz/fuzz_$name" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=262144 -print_final_stats=1 -artifact_prefix="$build/artifacts/$name/" \
    "$build/corpus/$name" "$build/seeds/$name" "tests/fuzz/regressions/$name" >"$log" 2>&1
  local rc=$?
  set -e
  local last execs
  last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  printf '%-15s exit %d  executions %s  %s\n' "$name" "$rc" "${execs:-?}" \
    "$(echo "$last" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*')"
  return $rc
}

status=0
jobs=${FUZZ_JOBS:-1}
running=0
for name in "${harnesses[@]}"; do
  fuzz_one "$name" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
[ $status -eq 0 ] || echo "run-fuzzers: a harness failed; see $build/logs/ and $build/artifacts/" >&2
exit $status
