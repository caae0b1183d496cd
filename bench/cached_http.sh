#!/usr/bin/env bash
# Load test of the answer cache: GET /api/v1/analytics/trust-metrics/{did}
# (cached) vs GET /health, same server, same run; first with a private Redis
# behind the cache, then with that Redis stopped. Prints requests/s and
# latency percentiles of each run and the medians over runs.
#
#   bench/cached_http.sh [RUNS=5] [DURATION=10s] [CONNECTIONS=64]
#
# Needs wrk and redis-server. Builds the release binary first (into
# $CARGO_TARGET_DIR when set). The network: `rhiz gen --seed 1`, 1,000 DIDs,
# 5,000 relationships, imported offline before the server starts.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/wrk_lib.sh
RUNS=${1:-5}
DURATION=${2:-10s}
CONNECTIONS=${3:-64}
DIDS=1000

command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server" >&2; exit 1; }
cargo build --release --locked -q
RHIZ=${CARGO_TARGET_DIR:-target}/release/rhiz
WORK=$(mktemp -d -t rhiz-bench.XXXXXX)
PORT=$(free_port)
REDIS_PORT=$(free_port)
REDIS=""
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; }
  [ -n "$REDIS" ] && { kill "$REDIS" 2>/dev/null; wait "$REDIS" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
REDIS=$!
"$RHIZ" gen --seed 1 --dids "$DIDS" --relationships 5000 --output "$WORK/events.ndjson" 2>/dev/null
"$RHIZ" import "$WORK/events.ndjson" --data-dir "$WORK/data" --log-level warn 2>/dev/null
RHIZ_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/" RHIZ_HANDLE_RESOLUTION=false \
  "$RHIZ" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --log-level error &
SERVER=$!
wait_for_health

# The DIDs that have relationships, in a Lua table.
grep -o '"participants":\["did:[^"]*"' "$WORK/events.ndjson" | sed -E 's/.*\["//; s/"$//' | sort -u | head -n "$DIDS" \
  | awk 'BEGIN {print "dids = {"} {printf "\"%s\",\n", $0} END {print "}"}' > "$WORK/trust.lua"
cat >> "$WORK/trust.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/api/v1/analytics/trust-metrics/" .. dids[counter % #dids + 1])
end
LUA
write_report_lua "$WORK/report.lua"
cat "$WORK/report.lua" >> "$WORK/trust.lua"
# Warm the cache: every DID once.
wrk -t1 -c1 -d2s -s "$WORK/trust.lua" "http://127.0.0.1:$PORT/" >/dev/null


phase() {
  local label=$1
  for r in $(seq 1 "$RUNS"); do
    for name in health trust; do
      if [ $name = health ]; then line=$(run "$WORK/report.lua" /health); else line=$(run "$WORK/trust.lua" /); fi
      echo "$label run $r $name: $line"
      record "$label.$name" "$line"
    done
  done
}
phase redis-up
kill "$REDIS"; wait "$REDIS" 2>/dev/null || true; REDIS=""
sleep 1
phase redis-down

echo
echo "median of $RUNS runs, $CONNECTIONS connections, $DURATION each:"
for label in redis-up redis-down; do
  for name in health trust; do
    printf '%-10s %-7s rps=%s p50_us=%s p99_us=%s errors=%s\n' "$label" "$name" \
      "$(median_of rps "$label.$name")" "$(median_of p50 "$label.$name")" \
      "$(median_of p99 "$label.$name")" "$(errors_of "$label.$name")"
  done
done
