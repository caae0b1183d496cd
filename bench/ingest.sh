#!/usr/bin/env bash
# Durable ingest throughput and latency, embedded log on the SQLite store
# (or PostgreSQL with DATABASE_URL=postgres://…), with a raw baseline of
# plain batched SQLite inserts of the same rows in the same run. The event
# log is rhiz's default (the file log); RHIZ_EVENT_LOG=sqlite measures the
# SQLite log instead (rhiz import and rhiz serve both read it).
#
#   bench/ingest.sh [RUNS=3] [RELATIONSHIPS=100000]
#
# Per run, on a fresh data directory each time:
#   1. baseline: the same relationship rows inserted into a bare table
#      shaped as the store's (crates/rhiz-store/examples/raw_insert_baseline.rs:
#      16 KiB pages, WAL, synchronous=NORMAL, one transaction per 1,000 rows);
#   2. `rhiz import FILE` offline;
#   3. `POST /internal/events/batch` at full speed (4 connections, batches of
#      1,000) into `rhiz serve`;
#   4. the same at a steady STEADY_RATE events/s (default 5,000), reporting
#      the server's ingest-to-applied latency histogram.
#
# The generated events carry ids in generation order (`gen-1-…-N`), which
# the event log indexes almost sequentially. With EVENT_IDS=none the lines
# go without `event_id`, so rhiz gives each a UUID v4, as it does for clients
# that send none: the log's id indexes then take random inserts.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
RELATIONSHIPS=${2:-100000}
STEADY_RATE=${STEADY_RATE:-5000}
DIDS=$(( RELATIONSHIPS / 10 ))
KEY=bench-internal-key-0123456789
DATABASE_URL=${DATABASE_URL:-}

cargo build --release --locked -q -p rhiz-server --bin rhiz --example ingest_load
cargo build --release --locked -q -p rhiz-store --example raw_insert_baseline
. bench/wrk_lib.sh
RHIZ=./target/release/rhiz
LOAD=./target/release/examples/ingest_load
BASELINE=./target/release/examples/raw_insert_baseline
WORK=$(mktemp -d -t rhiz-ingest.XXXXXX)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# Relationships only: the figure is events/s of one kind, comparable with the baseline rows.
$RHIZ gen --seed 1 --dids "$DIDS" --relationships "$RELATIONSHIPS" --attestation-ratio 0 \
  --now 2026-11-01T00:00:00Z 2>/dev/null | grep '"relationship.created"' > "$WORK/events.ndjson"
if [ "${EVENT_IDS:-}" = none ]; then
  sed -i -E 's/"event_id":"[^"]*",//; s/,"event_id":"[^"]*"//' "$WORK/events.ndjson"
fi
EVENTS=$(wc -l < "$WORK/events.ndjson")
echo "events: $EVENTS relationship.created lines"

fresh_db() {
  if [ -n "$DATABASE_URL" ]; then
    psql -q "$DATABASE_URL" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
  fi
  rm -rf "$WORK/data"; mkdir -p "$WORK/data"
}
db_flags() { if [ -n "$DATABASE_URL" ]; then echo "--database-url $DATABASE_URL"; fi; }

start_server() {
  PORT=$(free_port)
  RHIZ_INTERNAL_API_KEY=$KEY RHIZ_MAX_BODY_BYTES=67108864 \
    RHIZ_EVENT_QUEUE_CAPACITY=${1:-10000} RHIZ_EVENT_LANE_CAPACITY=${1:-10000} \
    $RHIZ serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" $(db_flags) --log-level warn &
  SERVER=$!
  wait_for_health
}
stop_server() { kill "$SERVER"; wait "$SERVER" || true; SERVER=; }

for r in $(seq 1 "$RUNS"); do
  fresh_db
  $BASELINE "$WORK/events.ndjson" "$WORK/baseline.db"

  fresh_db
  start=$(date +%s.%N)
  $RHIZ import "$WORK/events.ndjson" --data-dir "$WORK/data" $(db_flags) --log-level warn 2>"$WORK/import.log"
  end=$(date +%s.%N)
  echo "RESULT run import events_per_s=$(python3 -c "print(round($EVENTS/($end-$start)))")"

  fresh_db
  start_server 100000
  $LOAD "http://127.0.0.1:$PORT" "$KEY" "$WORK/events.ndjson" 0 1000 4 | sed 's/^/  http: /'
  stop_server

  fresh_db
  start_server 100000
  $LOAD "http://127.0.0.1:$PORT" "$KEY" "$WORK/events.ndjson" "$STEADY_RATE" 100 4 | sed "s/^/  steady $STEADY_RATE\/s: /"
  stop_server
done
