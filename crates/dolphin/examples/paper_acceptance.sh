#!/usr/bin/env bash
# Issue 12 acceptance, end to end (docs/LIVE.md §5, §7): `dolphin exchange` replays one
# recorded day of 1-minute klines on a free loopback port; `dolphin paper --exchange-url …
# --run-for …` (NautilusTrader LiveNode: Binance data client, sandbox execution, scanner actor,
# DolphinActor; NOT --dry-run) trades it with a Redis store; its day result must equal
# `dolphin backtest` on the day files that `dolphin scan` makes from the same bars (no warm-up
# from earlier days on either side). Trades are compared by count: `dolphin paper` writes no
# trade log yet.
#
# Usage: crates/dolphin/examples/paper_acceptance.sh [DOLPHIN_BIN] [DAY]
#   DOLPHIN_BIN  a dolphin built with `--features nautilus` (default target/release/dolphin)
#   DAY          a UTC date of the shared klines (default 2025-05-05)
#   DATA=…       the shared data folder (default ../shared/data)
# Needs redis-server, redis-cli, gzip, python3. About 3 minutes (1 440 bars at 600x).
# Exit 0 and "PASS" when every compared field is equal.
set -euo pipefail
BIN=${1:-target/release/dolphin}
DAY=${2:-2025-05-05}
DATA=${DATA:-../shared/data}
for t in redis-server redis-cli gzip python3; do
  command -v "$t" >/dev/null || { echo "skip: $t not found"; exit 0; }
done
[ -d "$DATA/klines-1m" ] || { echo "skip: $DATA/klines-1m not found"; exit 0; }
TMP=$(mktemp -d)
EX_PID=""
cleanup() {
  [ -n "$EX_PID" ] && kill -INT "$EX_PID" 2>/dev/null || true
  [ -f "$TMP/redis.pid" ] && kill "$(cat "$TMP/redis.pid")" 2>/dev/null || true
}
trap cleanup EXIT

start_ms=$(( $(date -u -d "$DAY" +%s) * 1000 ))
end_ms=$(( start_ms + 86400000 ))
mkdir -p "$TMP/klines"
for f in "$DATA"/klines-1m/*.csv.gz; do
  out="$TMP/klines/$(basename "${f%.gz}")"
  gzip -dc "$f" | awk -F, -v a="$start_ms" -v b="$end_ms" 'NR==1 || ($1>=a && $1<b)' > "$out"
  [ "$(wc -l < "$out")" -gt 1 ] || rm "$out"
done
symbols=$(ls "$TMP/klines" | wc -l)

# Backtest side.
"$BIN" scan --klines "$TMP/klines" --out "$TMP/days" > "$TMP/scan.out"
"$BIN" backtest --data "$TMP/days" --out "$TMP/bt" --no-plot > "$TMP/bt.out"
expected=$(grep "\"date\":\"$DAY\"" "$TMP/bt/days.jsonl")

# Live side.
rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
  --daemonize yes --pidfile "$TMP/redis.pid" > /dev/null
for _ in $(seq 50); do redis-cli -p "$rport" ping > /dev/null 2>&1 && break; sleep 0.1; done
"$BIN" exchange --klines "$DATA/klines-1m" --funding "$DATA/funding" --from "$DAY" --to "$DAY" \
  --speed 600 --port 0 > "$TMP/ex.out" 2> "$TMP/ex.err" &
EX_PID=$!
for _ in $(seq 300); do grep -q '| start' "$TMP/ex.out" 2>/dev/null && break; sleep 0.1; done
url=$(awk -F'|' '$2 ~ /REST/ {gsub(/ /,"",$3); print $3}' "$TMP/ex.out")
echo "exchange $url ($symbols symbols), redis 127.0.0.1:$rport, day $DAY"
# 1 440 bars at 600x take 144 s; the day result is written at the date change.
"$BIN" paper --exchange-url "$url" --run-for 165 --redis "redis://127.0.0.1:$rport" \
  > "$TMP/paper.log" 2>&1
grep -o "ScannerActor: scans=.*" "$TMP/paper.log" | sed "s/\x1b\[[0-9;]*m//g" || true
grep -q "Loaded USD-M perpetual instruments: count=$symbols" "$TMP/paper.log" \
  || { echo "FAIL: instruments not loaded (log: $TMP/paper.log)"; trap - EXIT; cleanup; exit 1; }
live=$(redis-cli -p "$rport" hget DOLPHIN_PNL_BLUE "$DAY")
echo "live     $live"
echo "backtest $expected"
python3 - "$live" "$expected" <<'PY'
import json, sys
live, exp = json.loads(sys.argv[1] or "null"), json.loads(sys.argv[2])
if live is None:
    print("FAIL: no live day result"); sys.exit(1)
bad = [f for f in ("pnl", "capital", "trades", "boost", "beta", "mc_status") if live.get(f) != exp.get(f)]
print("FAIL: " + ", ".join(bad) if bad else "PASS: the live day result equals the backtest's")
sys.exit(1 if bad else 0)
PY
