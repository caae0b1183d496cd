#!/usr/bin/env bash
# Load test: GET /health vs GET /api/v1/entities/{did} on the embedded SQLite
# store, same server, same run. Prints requests/s and latency percentiles of
# each run and the median over runs.
#
#   bench/entities_http.sh [RUNS=5] [DURATION=10s] [CONNECTIONS=64]
#
# Needs wrk (apt-get install wrk). Builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
DURATION=${2:-10s}
CONNECTIONS=${3:-64}
ENTITIES=1000

command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -q
WORK=$(mktemp -d -t rhiz-bench.XXXXXX)
PORT=$(( 20000 + RANDOM % 40000 ))
./target/release/rhiz serve --listen "127.0.0.1:$PORT" --data-dir "$WORK" --log-level warn &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

for i in $(seq 1 $ENTITIES); do
  printf '{"did":"did:plc:bench%06d","type":"person","name":"Bench %d","handle":"bench%d.example.com"}\n' "$i" "$i" "$i"
done | while read -r body; do
  curl -fs -o /dev/null -X POST -H 'content-type: application/json' -d "$body" "http://127.0.0.1:$PORT/api/v1/entities"
done

cat > "$WORK/entities.lua" <<LUA
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", string.format("/api/v1/entities/did:plc:bench%06d", counter % $ENTITIES + 1))
end
LUA
cat > "$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_us=%d p99_us=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
cat "$WORK/report.lua" >> "$WORK/entities.lua"

run() { wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$1" "http://127.0.0.1:$PORT$2" | grep RESULT; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

declare -A rps p50 p99
for r in $(seq 1 "$RUNS"); do
  for name in health entity; do
    if [ $name = health ]; then line=$(run "$WORK/report.lua" /health); else line=$(run "$WORK/entities.lua" /); fi
    echo "run $r $name: $line"
    rps[$name]+="$(sed -E 's/.*rps=([0-9]+).*/\1/' <<<"$line") "
    p50[$name]+="$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$line") "
    p99[$name]+="$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$line") "
  done
done
echo
echo "median of $RUNS runs, $CONNECTIONS connections, $DURATION each:"
for name in health entity; do
  printf '%-8s rps=%s p50_us=%s p99_us=%s\n' "$name" \
    "$(tr ' ' '\n' <<<"${rps[$name]}" | grep . | median)" \
    "$(tr ' ' '\n' <<<"${p50[$name]}" | grep . | median)" \
    "$(tr ' ' '\n' <<<"${p99[$name]}" | grep . | median)"
done
