#!/usr/bin/env bash
# Issue 12 benchmark: bar-close-to-order latency of the live node (docs/BENCHMARKS.md).
# `dolphin exchange` replays one day of 1-minute klines on a free loopback port; `dolphin paper`
# (NautilusTrader LiveNode, Binance data client → local exchange, sandbox execution, scanner
# actor, DolphinActor) runs it to the end of the day and writes paper.json, whose `bar_to_step`
# is, per scan, the wall time from the arrival of the bar that completed the scan (its last
# asset's kline, as parsed by Nautilus) to the end of its step (scanner, message-bus hand-over,
# engine step, order submission); `bar_to_order` is the same for the scans that sent an order.
#
# Usage: crates/dolphin/examples/paper_latency.sh [DOLPHIN_BIN] [ASSETS...]
#   DOLPHIN_BIN  a `--features nautilus` release build (default target/release/dolphin)
#   ASSETS       16 (the repository's sample klines, 2025-05-05) and/or 400 (a generated panel,
#                `cargo run --release -p dolphin-scanner --example gen_klines`), default "16 400"
#   SPEED=…      replay speed (default 600: a 1-minute bar every 100 ms of wall time)
set -euo pipefail
BIN=${1:-target/release/dolphin}
shift || true
SIZES=${*:-16 400}
SPEED=${SPEED:-600}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TMP=$(mktemp -d)
EX_PID=""
trap '[ -n "$EX_PID" ] && kill "$EX_PID" 2>/dev/null || true' EXIT
printf '| assets | scans | bar→step p50 | p99 | max | orders | bar→order p50 | p99 |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n' > "$TMP/table"
for n in $SIZES; do
  if [ "$n" = 16 ]; then
    klines="$ROOT/data/sample/klines-1m"; day=2025-05-05; end=2025-05-06; assets=""; streams=15
    config="$ROOT/configs/blue.yml"
  else
    klines="$TMP/k$n"
    cargo run -q --release -p dolphin-scanner --example gen_klines -- --assets "$n" --bars 1500 \
      --seed 7 --out "$klines" --clean --gz > /dev/null
    day=2025-01-01; end=2025-01-02; streams=$n
    assets=$(ls "$klines" | sed 's/-1m.csv.gz//' | paste -sd,)
    # The generated panel has no BTCUSDT: the volatility filter uses its first asset instead.
    config="$TMP/c$n.yml"
    sed 's/vol_reference_asset: BTCUSDT/vol_reference_asset: S000USDT/' "$ROOT/configs/blue.yml" > "$config"
  fi
  "$BIN" exchange --klines "$klines" --from "$day" --to "$day" --speed "$SPEED" --port 0 \
    --wait-streams "$streams" > "$TMP/ex$n.out" 2> /dev/null &
  EX_PID=$!
  for _ in $(seq 300); do grep -q 'REST' "$TMP/ex$n.out" 2>/dev/null && break; sleep 0.1; done
  url=$(awk -F'|' '$2 ~ /REST/ {gsub(/ /,"",$3); print $3}' "$TMP/ex$n.out")
  "$BIN" paper --config "$config" --bar-seconds 60 --exchange-url "$url" --end "$end" --run-for 1200 --out "$TMP/p$n" \
    ${assets:+--assets "$assets"} > "$TMP/p$n.log" 2>&1
  kill "$EX_PID" 2>/dev/null || true; EX_PID=""
  python3 - "$TMP/p$n/paper.json" "$n" >> "$TMP/table" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); s = p["bar_to_step"] or {}; o = p["bar_to_order"] or {}
ms = lambda v: "–" if v is None else f"{v / 1000:.3f} ms"
print(f"| {sys.argv[2]} | {s.get('n', 0)} | {ms(s.get('p50_us'))} | {ms(s.get('p99_us'))} | "
      f"{ms(s.get('max_us'))} | {o.get('n', 0)} | {ms(o.get('p50_us'))} | {ms(o.get('p99_us'))} |")
PY
done
cat "$TMP/table"
echo "runs in $TMP"
