#!/usr/bin/env bash
# The issue-11 speed benchmark (docs/BENCHMARKS.md, "`dolphin serve`"): `dolphin backtest` and
# `dolphin serve --replay --speed 0` on the same day files, alternated N times; prints a table of
# each command's own `elapsed` (medians, minima, rows/s, serve's share of the backtest's rows/s)
# and of the whole process's wall time. With a second binary OTHER, its serve runs in the same
# alternation (before/after).
# usage: crates/dolphin/examples/serve_bench.sh DOLPHIN DAYS [N] [OTHER]
#   DOLPHIN = target/release/dolphin, DAYS = day files (dolphin scan output), N = 21 by default
# Set ARGS="--indicators DIR --funding DIR" to give both commands the same extra inputs (the
# ACB on external factors, as in the issue's acceptance command). Set FLOOR=1 to add serve with
# no per-bar service work (serve_floor.yml beside this script: no watchdog, heartbeats and the
# store probe daily) — the floor under serve's speed. Set PAUSE="pattern" to SIGSTOP matching
# processes (other builds) for the measurement; they are continued at the end. Needs python3.
#
# The two columns measure different spans. `elapsed` is what each command prints: the
# backtest's covers its providers and its run, not the read that checks every day file before
# it (docs/INPUTS.md) nor writing its outputs; serve's covers everything from the store's setup
# to its last output file. "process" is the wall time of the whole command, start to exit.
set -euo pipefail
D=$1 DAYS=$2 N=${3:-21} OTHER=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"; [ -n "${PAUSE:-}" ] && pkill -CONT -f "$PAUSE" || true' EXIT
read -r -a EXTRA <<< "${ARGS:-}"
rows=$("$D" backtest --no-plot --data "$DAYS" --out "$OUT/probe" | grep -E '^\| bars ' | tr -dc '0-9')
# Runs a command; appends "elapsed process_wall" (seconds) to the named array.
timed() {
  local -n acc=$1
  shift
  local t0 t1 text
  t0=$(date +%s%N)
  text=$("$@")
  t1=$(date +%s%N)
  acc+=("$(grep -E '^\| elapsed' <<< "$text" | grep -oE '[0-9.]+' | head -1):$(( (t1 - t0) / 1000 ))")
}
bt=() sv=() ot=() fl=()
for _ in $(seq "$N"); do
  [ -n "${PAUSE:-}" ] && pkill -STOP -f "$PAUSE" || true
  timed bt "$D" backtest --no-plot --data "$DAYS" "${EXTRA[@]}" --out "$OUT/bt"
  timed sv "$D" serve --replay "$DAYS" --speed 0 "${EXTRA[@]}" --out "$OUT/sv"
  [ -n "$OTHER" ] && timed ot "$OTHER" serve --replay "$DAYS" --speed 0 "${EXTRA[@]}" --out "$OUT/ot"
  [ -n "${FLOOR:-}" ] && timed fl "$D" serve --replay "$DAYS" --speed 0 "${EXTRA[@]}" \
    --services-config "$HERE/serve_floor.yml" --out "$OUT/fl"
done
uptime
python3 - "$rows" "${bt[*]}" "${sv[*]}" "${ot[*]:-}" "${fl[*]:-}" "$D" "$OTHER" "${ARGS:-}" <<'EOF'
import statistics as st, sys
rows = int(sys.argv[1])
def parse(s):
    pairs = [x.split(":") for x in s.split()]
    return [float(e) for e, _ in pairs], [int(p) / 1e6 for _, p in pairs]
runs = [("dolphin backtest", sys.argv[2]), (f"dolphin serve ({sys.argv[6]})", sys.argv[3])]
if sys.argv[4].strip():
    runs.append((f"dolphin serve ({sys.argv[7]})", sys.argv[4]))
if sys.argv[5].strip():
    runs.append(("dolphin serve, per-bar services off (floor)", sys.argv[5]))
bt_el, bt_pr = parse(sys.argv[2])
med_el, med_pr = st.median(bt_el), st.median(bt_pr)
print(f"{rows} rows per run, {len(bt_el)} alternated runs each, extra arguments: {sys.argv[8] or 'none'}\n")
print("| run | median elapsed | min | rows/s (median) | vs backtest | median process | vs backtest |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, xs in runs:
    el, pr = parse(xs)
    m, p = st.median(el), st.median(pr)
    print(f"| {name} | {m:.4f} s | {min(el):.4f} s | {rows / m:,.0f} | {100 * med_el / m:.0f} % "
          f"| {p:.4f} s | {100 * med_pr / p:.0f} % |")
EOF
