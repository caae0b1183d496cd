#!/usr/bin/env bash
# Load test of the graph query routes against GET /health in the same run:
# findPath (6 hops, minStrength 50, random pairs), getNeighbors, getScore and
# trust metrics (random DIDs or relationships), each over its XRPC route.
# Prints requests/s and latency percentiles per run and the medians.
#
#   bench/query_http.sh [RUNS=3] [DURATION=10s] [CONNECTIONS=64] [DATA_DIR]
#
# DATA_DIR: a data directory already holding a network (e.g. `rhiz gen …`
# imported with `rhiz import`); its events file must be in
# $EVENTS (default DATA_DIR/../events.ndjson) to pick DIDs and URIs from.
# Without DATA_DIR, `rhiz gen --seed 1` with DIDS (default 10,000) and
# RELATIONSHIPS (default 100,000) is generated and imported first.
#
# Needs wrk. Builds the release binary first (into $CARGO_TARGET_DIR when set).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/wrk_lib.sh
RUNS=${1:-3}
DURATION=${2:-10s}
CONNECTIONS=${3:-64}
DATA_DIR=${4:-}
DIDS=${DIDS:-10000}
RELATIONSHIPS=${RELATIONSHIPS:-100000}
SAMPLE=2000

command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -q -p rhiz-server --bin rhiz
RHIZ=${CARGO_TARGET_DIR:-target}/release/rhiz
WORK=$(mktemp -d -t rhiz-query.XXXXXX)
PORT=$(free_port)
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "$DATA_DIR" ]; then
  DATA_DIR=$WORK/data
  EVENTS=$WORK/events.ndjson
  "$RHIZ" gen --seed 1 --dids "$DIDS" --relationships "$RELATIONSHIPS" --output "$EVENTS" 2>/dev/null
  RHIZ_EVENT_QUEUE_CAPACITY=40000 RHIZ_EVENT_LANE_CAPACITY=40000 \
    "$RHIZ" import "$EVENTS" --data-dir "$DATA_DIR" --log-level warn 2>/dev/null
fi
EVENTS=${EVENTS:-$DATA_DIR/../events.ndjson}
RHIZ_HANDLE_RESOLUTION=false "$RHIZ" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA_DIR" \
  --log-level error &
SERVER=$!
wait_for_health

# Lua tables of sample DIDs (relationship participants) and relationship URIs.
# (head stops reading early: grep's broken pipe is expected.)
{ grep '"relationship.created"' "$EVENTS" || true; } | head -n 200000 \
  | shuf -n "$SAMPLE" --random-source=<(yes) > "$WORK/sample.ndjson"
{
  echo "dids = {"
  grep -o '"participants":\["did:[^"]*"' "$WORK/sample.ndjson" | sed -E 's/.*\["//; s/"$//' \
    | awk '{printf "\"%s\",\n", $0}'
  echo "}"
  echo "uris = {"
  grep -o '"uri":"at://[^"]*"' "$WORK/sample.ndjson" | sed -E 's/"uri":"//; s/"$//' \
    | awk '{printf "\"%s\",\n", $0}'
  echo "}"
  cat <<'LUA'
math.randomseed(7)
local function pick(list) return list[math.random(#list)] end
routes = {
  path = function()
    local from, to = pick(dids), pick(dids)
    while to == from do to = pick(dids) end
    return "/xrpc/net.rhiz.graph.findPath?from=" .. from .. "&to=" .. to
      .. "&maxHops=6&minStrength=50"
  end,
  neighbors = function() return "/xrpc/net.rhiz.graph.getNeighbors?did=" .. pick(dids) end,
  score = function() return "/xrpc/net.rhiz.conviction.getScore?uri=" .. pick(uris) end,
  trust = function() return "/xrpc/net.rhiz.trust.getMetrics?did=" .. pick(dids) end,
}
LUA
} > "$WORK/common.lua"
write_report_lua "$WORK/report.lua"
for name in path neighbors score trust; do
  {
    cat "$WORK/common.lua"
    echo "request = function() return wrk.format(\"GET\", routes.$name()) end"
    cat "$WORK/report.lua"
  } > "$WORK/$name.lua"
done

names="health path neighbors score trust"
for r in $(seq 1 "$RUNS"); do
  for name in $names; do
    if [ "$name" = health ]; then line=$(run "$WORK/report.lua" /health); else line=$(run "$WORK/$name.lua" /); fi
    echo "run $r $name: $line"
    record "$name" "$line"
  done
done

echo
echo "median of $RUNS runs, $CONNECTIONS connections, $DURATION each:"
health_rps=$(median_of rps health)
for name in $names; do
  route_rps=$(median_of rps "$name")
  printf '%-10s rps=%s (%.0f%% of /health) p50_us=%s p99_us=%s errors=%s\n' "$name" "$route_rps" \
    "$(python3 -c "print(100 * $route_rps / $health_rps)")" \
    "$(median_of p50 "$name")" "$(median_of p99 "$name")" "$(errors_of "$name")"
done
