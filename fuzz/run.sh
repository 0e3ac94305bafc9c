#!/usr/bin/env bash
# Builds and runs every fuzz target for SECONDS (default 45) each, one after the other, on
# its seed corpus (docs/INPUTS.md "Fuzzing"). Needs cargo-fuzz (`cargo install cargo-fuzz
# --locked`); the stable toolchain runs its -Z flags with RUSTC_BOOTSTRAP=1. New corpus
# entries go to a scratch copy, so the committed corpus only changes by hand. Exits non-zero
# on the first crash, leak of memory past the limit or hang; the input is kept in
# fuzz/artifacts/<target>/ and the end of libFuzzer's log is printed.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-45}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(kline_csv day_file npz ws_message)
export RUSTC_BOOTSTRAP=1
# Its own workspace and target dir: the instrumented build never touches the workspace's
# (a CARGO_TARGET_DIR set for the workspace is not inherited).
export CARGO_TARGET_DIR="$PWD/target"
cargo fuzz build -s none --release
passed=0
for t in "${TARGETS[@]}"; do
  work="$(mktemp -d)"
  cp -r "corpus/$t/." "$work/"
  echo "fuzz: $t for ${SECONDS_EACH}s"
  if ! cargo fuzz run -s none --release "$t" "$work" -- \
    -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -timeout=30 \
    -print_final_stats=1 >"$work.log" 2>&1; then
    tail -60 "$work.log"
    echo "fuzz: $t FAILED (crash input in fuzz/artifacts/$t/)"
    echo "fuzz: $passed passed, 1 failed"
    exit 1
  fi
  grep -E "^stat::number_of_executed_runs|^Done" "$work.log" || true
  rm -f "$work.log"
  rm -rf "$work"
  passed=$((passed + 1))
done
echo "fuzz: every target clean for ${SECONDS_EACH}s"
echo "fuzz: $passed passed, 0 failed"
