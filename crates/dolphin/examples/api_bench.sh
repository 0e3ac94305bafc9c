#!/usr/bin/env bash
# The issue-13 load benchmark (docs/BENCHMARKS.md, "Observability API under load"):
# 30 s of a replay loop alone, 10 s of API load alone, then 30 s of both.
# usage: crates/dolphin/examples/api_bench.sh DOLPHIN API_LOAD DAYS RUN_DIR [PORT]
#   DOLPHIN   = target/release/dolphin
#   API_LOAD  = target/release/examples/api_load   (cargo build --release -p dolphin --example api_load)
#   DAYS      = day files to replay (dolphin scan output), RUN_DIR = a run folder for the API
# Needs bc. Set NICE="nice -n -10" to give the API and the generator priority; set
# REPLAY_CPUS=0 API_CPUS=1 to pin the replay and the API + generator to their own cores
# (taskset). The replay is measured alone before AND after the loaded window; the drop is
# taken against the mean of the two (the machine drifts between windows).
set -euo pipefail
D=$1 L=$2 DAYS=$3 RUN=$4 PORT=${5:-18787}
TOK=$(mktemp -d)/api.token
OUT=$(mktemp -d)
rows=$("$D" backtest --data "$DAYS" --out "$OUT/probe" | grep -E '^\| bars ' | tr -dc '0-9')
replay_loop() { # seconds -> replays, mean elapsed, rows/s (rows over the runs' own elapsed)
  local end=$(( $(date +%s%N) + $1 * 1000000000 )) n=0 tot=0 e
  while [ "$(date +%s%N)" -lt "$end" ]; do
    e=$(${RPIN:-} "$D" backtest --data "$DAYS" --out "$OUT/loop" 2>/dev/null | grep elapsed | grep -oE '[0-9.]+ s' | cut -d' ' -f1)
    n=$((n + 1)); tot=$(echo "$tot + $e" | bc -l)
  done
  echo "replays $n  mean_elapsed_s $(echo "$tot / $n" | bc -l | cut -c1-6)  rows/s $(echo "$rows * $n / $tot" | bc -l | cut -d. -f1)"
}
RPIN=${REPLAY_CPUS:+taskset -c $REPLAY_CPUS}
APIN=${API_CPUS:+taskset -c $API_CPUS}
uptime
echo "== replay alone (30 s)"; replay_loop 30
${NICE:-} ${APIN:-} "$D" api --out "$RUN" --bind "127.0.0.1:$PORT" --token-file "$TOK" > "$OUT/api.log" 2>&1 &
API=$!
trap 'kill $API 2>/dev/null' EXIT
sleep 1
echo "== API load alone (10 s)"
${NICE:-} ${APIN:-} "$L" --url "http://127.0.0.1:$PORT" --token-file "$TOK" --rate 1000 --secs 10
echo "== API load 1000/s for 30 s with the replay loop"
replay_loop 30 > "$OUT/replay.txt" &
${NICE:-} ${APIN:-} "$L" --url "http://127.0.0.1:$PORT" --token-file "$TOK" --rate 1000 --secs 30
wait %2 2>/dev/null || true
cat "$OUT/replay.txt"
echo "== replay alone again (30 s)"; replay_loop 30
uptime
