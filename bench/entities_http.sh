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
. bench/wrk_lib.sh
RUNS=${1:-5}
DURATION=${2:-10s}
CONNECTIONS=${3:-64}
ENTITIES=1000

command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -q
WORK=$(mktemp -d -t rhiz-bench.XXXXXX)
PORT=$(free_port)
./target/release/rhiz serve --listen "127.0.0.1:$PORT" --data-dir "$WORK" --log-level warn &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
wait_for_health

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
write_report_lua "$WORK/report.lua"
cat "$WORK/report.lua" >> "$WORK/entities.lua"


for r in $(seq 1 "$RUNS"); do
  for name in health entity; do
    if [ $name = health ]; then line=$(run "$WORK/report.lua" /health); else line=$(run "$WORK/entities.lua" /); fi
    echo "run $r $name: $line"
    record "$name" "$line"
  done
done
echo
echo "median of $RUNS runs, $CONNECTIONS connections, $DURATION each:"
for name in health entity; do
  printf '%-8s rps=%s p50_us=%s p99_us=%s\n' "$name" \
    "$(median_of rps "$name")" "$(median_of p50 "$name")" "$(median_of p99 "$name")"
done
