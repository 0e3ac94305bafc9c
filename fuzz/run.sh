#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 45) each on its seed corpus (docs/INPUTS.md).
# Needs cargo-fuzz; the stable toolchain runs it with RUSTC_BOOTSTRAP=1. New corpus entries
# go to a scratch copy, so the committed corpus only changes by hand.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-45}"
export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none --release
for t in kline_csv day_file npz ws_message; do
  work="$(mktemp -d)"
  cp -r "corpus/$t/." "$work/"
  echo "fuzz: $t for ${SECONDS_EACH}s"
  if ! cargo fuzz run -s none --release "$t" "$work" -- \
    -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$work.log" 2>&1; then
    tail -60 "$work.log"
    echo "fuzz: $t FAILED (crash input in fuzz/artifacts/$t/)"
    exit 1
  fi
  grep -E "^stat::number_of_executed_runs|^Done" "$work.log" || true
  rm -f "$work.log"
  rm -rf "$work"
done
