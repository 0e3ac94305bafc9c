#!/usr/bin/env bash
# The issue-11 speed benchmark (docs/BENCHMARKS.md, "`dolphin serve`"): `dolphin backtest` and
# `dolphin serve --replay --speed 0` on the same day files, alternated N times, each command's
# own `elapsed`; prints a table of medians, minima, rows/s and serve's share of the backtest's
# rows/s. With a second binary OTHER, its serve runs in the same alternation (before/after).
# usage: crates/dolphin/examples/serve_bench.sh DOLPHIN DAYS [N] [OTHER]
#   DOLPHIN = target/release/dolphin, DAYS = day files (dolphin scan output), N = 21 by default
# Set ARGS="--indicators DIR --funding DIR" to give both commands the same extra inputs (the
# ACB on external factors, as in the issue's acceptance command). Set PAUSE="pattern" to
# SIGSTOP matching processes (other builds) for the measurement; they are continued at the
# end. Needs python3 for the medians.
set -euo pipefail
D=$1 DAYS=$2 N=${3:-21} OTHER=${4:-}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"; [ -n "${PAUSE:-}" ] && pkill -CONT -f "$PAUSE" || true' EXIT
elapsed() { grep -E '^\| elapsed' | grep -oE '[0-9.]+' | head -1; }
read -r -a EXTRA <<< "${ARGS:-}"
rows=$("$D" backtest --no-plot --data "$DAYS" --out "$OUT/probe" | grep -E '^\| bars ' | tr -dc '0-9')
bt=() sv=() ot=()
for _ in $(seq "$N"); do
  [ -n "${PAUSE:-}" ] && pkill -STOP -f "$PAUSE" || true
  bt+=("$("$D" backtest --no-plot --data "$DAYS" "${EXTRA[@]}" --out "$OUT/bt" | elapsed)")
  sv+=("$("$D" serve --replay "$DAYS" --speed 0 "${EXTRA[@]}" --out "$OUT/sv" | elapsed)")
  [ -n "$OTHER" ] && ot+=("$("$OTHER" serve --replay "$DAYS" --speed 0 "${EXTRA[@]}" --out "$OUT/ot" | elapsed)")
done
uptime
python3 - "$rows" "${bt[*]}" "${sv[*]}" "${ot[*]:-}" "$D" "$OTHER" "${ARGS:-}" <<'EOF'
import statistics as st, sys
rows = int(sys.argv[1])
runs = [("dolphin backtest", sys.argv[2]), (f"dolphin serve ({sys.argv[5]})", sys.argv[3])]
if sys.argv[4].strip():
    runs.append((f"dolphin serve ({sys.argv[6]})", sys.argv[4]))
med_bt = st.median(float(x) for x in sys.argv[2].split())
print(f"{rows} rows per run, {len(sys.argv[2].split())} alternated runs each, extra arguments: {sys.argv[7] or 'none'}\n")
print("| run | median elapsed | min | rows/s (median) | vs backtest |")
print("|---|---:|---:|---:|---:|")
for name, xs in runs:
    v = [float(x) for x in xs.split()]
    m = st.median(v)
    print(f"| {name} | {m:.4f} s | {min(v):.4f} s | {rows / m:,.0f} | {100 * med_bt / m:.0f} % |")
EOF
