# Shared by the load scripts in bench/: sourced, not run.
#
# Expects PORT (and, for wrk, CONNECTIONS and DURATION) to be set by the caller.

# A TCP port on 127.0.0.1 that nothing listens on, chosen by the kernel.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until the server on $PORT answers /health (30 s at most).
wait_for_health() {
  for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && return; sleep 0.1; done
  echo "the server on port $PORT did not answer /health" >&2
  exit 1
}

# Writes a wrk Lua `done` hook printing one RESULT line to FILE.
write_report_lua() {
  cat > "$1" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_us=%d p99_us=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
}

# One wrk run of SCRIPT against PATH; prints its RESULT line.
run() { wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$1" "http://127.0.0.1:$PORT$2" | grep RESULT; }

# The median of the numbers on standard input, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# The value of FIELD (rps, p50_us, p99_us, errors) in a RESULT line.
field() { sed -E "s/.*$1=([0-9]+).*/\\1/" <<<"$2"; }

# The runs' figures per route KEY, each a space-separated list.
declare -A rps p50 p99 errors

# Appends the figures of RESULT line LINE to route KEY: record KEY LINE.
record() {
  rps[$1]+="$(field rps "$2") "
  p50[$1]+="$(field p50_us "$2") "
  p99[$1]+="$(field p99_us "$2") "
  errors[$1]+="$(field errors "$2") "
}

# The median over the runs of one figure (rps, p50 or p99) of route KEY:
# median_of FIGURE KEY.
median_of() { local -n figure=$1; tr ' ' '\n' <<<"${figure[$2]}" | grep . | median; }

# The errors of route KEY summed over the runs.
errors_of() { tr ' ' '\n' <<<"${errors[$1]}" | grep . | awk '{s+=$1} END {print s}'; }
