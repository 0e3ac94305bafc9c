#!/usr/bin/env bash
# One benchmark round for docs/BENCHMARKS.md "Research sweeps": the 1,000-config sweep locally
# (rayon, 2 threads and 1 thread) and through Redis Streams with 1, 2 and 3 local workers.
# Appends one CSV line per run to OUT/bench.csv: round, run, wall s (the sweep's printed run
# time), load average, CPU s (user + sys; of the workers for Redis), identical (the whole
# output folder equals the first local run's, byte for byte).
#
# usage: studies/bench-1000/bench.sh DOLPHIN DAYS OUT ROUND [PORT]
#   e.g. studies/bench-1000/bench.sh target/release/dolphin /tmp/days-full /tmp/bench 1
# Starts its own redis-server on 127.0.0.1:PORT (default 6391) when none answers there, and
# stops it at the end. Needs redis-server, redis-cli, GNU time and bc.
set -euo pipefail
B=$1 DATA=$2 O=$3 R=$4 P=${5:-6391}
SPEC=$(dirname "$0")/sweep.yml
URL=redis://127.0.0.1:$P
mkdir -p "$O"
[ -f "$O/bench.csv" ] || echo "round,run,wall_s,load,cpu_s,identical" > "$O/bench.csv"
started=""
if ! redis-cli -p "$P" ping >/dev/null 2>&1; then
  redis-server --port "$P" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$O/redis.pid" --logfile "$O/redis.log"
  started=yes
  sleep 1
fi
row() { # label folder cpu
  local t same=no
  t=$(grep "run time" "$O/$2.log" | grep -o "[0-9.]* s for" | grep -o "^[0-9.]*")
  [ -d "$O/reference" ] || cp -r "$O/$2" "$O/reference"
  diff -r "$O/reference" "$O/$2" >/dev/null && same=yes
  echo "$R,$1,$t,$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/'),$3,$same" >> "$O/bench.csv"
}
for th in 2 1; do
  rm -rf "$O/r$R-t$th"
  /usr/bin/time -f "%U %S" "$B" sweep --spec "$SPEC" --data "$DATA" --out "$O/r$R-t$th" \
    --threads "$th" > "$O/r$R-t$th.log" 2> "$O/r$R-t$th.err"
  row "local-$th-threads" "r$R-t$th" "$(tail -1 "$O/r$R-t$th.err" | tr ' ' '+' | bc)"
done
for n in 1 2 3; do
  redis-cli -p "$P" FLUSHALL >/dev/null
  pids=()
  for i in $(seq 1 "$n"); do
    /usr/bin/time -f "%U %S" "$B" worker --redis "$URL" --data "$DATA" --name "r$R-w$n-$i" \
      --exit-when-idle-ms 3000 > "$O/r$R-w$n-$i.log" 2>&1 &
    pids+=($!)
  done
  sleep 2 # the workers load the day files first
  rm -rf "$O/r$R-redis-$n"
  "$B" sweep --spec "$SPEC" --data "$DATA" --out "$O/r$R-redis-$n" --redis "$URL" \
    > "$O/r$R-redis-$n.log" 2> "$O/r$R-redis-$n.err"
  wait "${pids[@]}"
  cpu=$(for i in $(seq 1 "$n"); do tail -1 "$O/r$R-w$n-$i.log" | tr ' ' '+' | bc; done | paste -sd+ | bc)
  row "redis-$n-workers" "r$R-redis-$n" "$cpu"
done
if [ -n "$started" ]; then kill "$(cat "$O/redis.pid")"; fi
