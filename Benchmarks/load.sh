#!/usr/bin/env bash
# Load test: h2load sends gRPC OTLP trace exports to a release collectord; prints throughput,
# the collector's CPU cost per span and its peak RSS.
#
#   make bench                     (builds release and the venv first)
#   REQUESTS=5000 CLIENTS=8 Benchmarks/load.sh
#
# Tunables (environment): REQUESTS (2000), CLIENTS (4), STREAMS (8, max concurrent streams per
# client), THREADS (1, h2load threads), WARMUP (100 requests, not measured), SPANS_PER_REQUEST
# (1000), COLLECTORD_BIN (.build/release/collectord), PYTHON (.venv/bin/python), OUT_DIR
# (Benchmarks/out), H2LOAD_TIMEOUT (600 s), PROTOCOL (grpc; http: OTLP/HTTP protobuf over
# HTTP/1.1 to 127.0.0.1:14318/v1/traces, CLIENTS x STREAMS connections with one request at a
# time each, e.g. with CONFIG=Benchmarks/bench-nop-http-config.yaml).
#
# The collector runs Benchmarks/bench-config.yaml (gRPC on 127.0.0.1:14317, metrics on
# 127.0.0.1:18888); its stdout goes to /dev/null, its stderr to $OUT_DIR/collectord.stderr.
# The script fails if h2load reports a failed request, or if the collector's own
# otelcol_receiver_accepted_spans counter shows fewer spans than were sent (a gRPC error
# status arrives in HTTP/2 trailers with HTTP 200, which h2load counts as a success).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-2000}
CLIENTS=${CLIENTS:-4}
STREAMS=${STREAMS:-8}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-100}
SPANS_PER_REQUEST=${SPANS_PER_REQUEST:-1000}
COLLECTORD_BIN=${COLLECTORD_BIN:-.build/release/collectord}
PYTHON=${PYTHON:-.venv/bin/python}
OUT_DIR=${OUT_DIR:-Benchmarks/out}
H2LOAD_TIMEOUT=${H2LOAD_TIMEOUT:-600}
CONFIG=${CONFIG:-Benchmarks/bench-config.yaml}
PROTOCOL=${PROTOCOL:-grpc}
GRPC_ADDR=127.0.0.1:14317
METRICS_URL=http://127.0.0.1:18888/metrics
URL="http://$GRPC_ADDR/opentelemetry.proto.collector.trace.v1.TraceService/Export"
if [[ "$PROTOCOL" == http ]]; then
    GRPC_ADDR=127.0.0.1:14318   # the address waited for and checked below
    URL="http://$GRPC_ADDR/v1/traces"
fi

die() { echo "load.sh: $*" >&2; exit 1; }

[[ -x "$COLLECTORD_BIN" ]] || die "$COLLECTORD_BIN not found: run 'make build' (or make bench)"
[[ -x "$PYTHON" ]] || die "$PYTHON not found: run 'make venv'"
command -v h2load >/dev/null || die "h2load not found: apt-get install nghttp2-client"
command -v curl >/dev/null || die "curl not found: apt-get install curl"
. Benchmarks/lib.sh   # port_open, cpu_ticks, metric_sum
port_open "$GRPC_ADDR" && die "$GRPC_ADDR is already in use (another collector running?)"
port_open 127.0.0.1:18888 && die "127.0.0.1:18888 is already in use"

mkdir -p "$OUT_DIR"
echo "== generating a request of $SPANS_PER_REQUEST spans"
"$PYTHON" Benchmarks/gen_request.py --spans "$SPANS_PER_REQUEST" --out-dir "$OUT_DIR"
BODY="$OUT_DIR/traces.grpc"
[[ "$PROTOCOL" == http ]] && BODY="$OUT_DIR/traces.pb"

echo "== starting $COLLECTORD_BIN --config $CONFIG"
"$COLLECTORD_BIN" --config "$CONFIG" >/dev/null 2>"$OUT_DIR/collectord.stderr" &
PID=$!
stop_collector() {
    if kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$PID" 2>/dev/null; then
            echo "load.sh: collectord did not stop within 15 s of SIGTERM; sending SIGKILL" >&2
            kill -KILL "$PID" 2>/dev/null || true
        fi
    fi
    wait "$PID" 2>/dev/null || true
}
trap stop_collector EXIT

for _ in $(seq 1 300); do
    port_open "$GRPC_ADDR" && break
    kill -0 "$PID" 2>/dev/null || { cat "$OUT_DIR/collectord.stderr" >&2; die "collectord exited during startup"; }
    sleep 0.1
done
port_open "$GRPC_ADDR" || die "collectord is not listening on $GRPC_ADDR after 30 s"

H2LOAD=(h2load -c "$CLIENTS" -m "$STREAMS" -t "$THREADS" -d "$BODY"
        -H "content-type: application/grpc" -H "te: trailers" -H "grpc-accept-encoding: identity")
if [[ "$PROTOCOL" == http ]]; then
    H2LOAD=(h2load --h1 -c $(( CLIENTS * STREAMS )) -m 1 -t "$THREADS" -d "$BODY"
            -H "content-type: application/x-protobuf")
fi

if (( WARMUP > 0 )); then
    echo "== warm-up: $WARMUP requests"
    timeout "$H2LOAD_TIMEOUT" "${H2LOAD[@]}" -n "$WARMUP" "$URL" >"$OUT_DIR/h2load-warmup.txt" ||
        { cat "$OUT_DIR/h2load-warmup.txt" >&2; die "h2load warm-up failed"; }
fi

accepted_before=$(metric_sum otelcol_receiver_accepted_spans)
refused_before=$(metric_sum otelcol_receiver_refused_spans)
ticks_before=$(cpu_ticks)
echo "== load: $REQUESTS requests x $SPANS_PER_REQUEST spans, $CLIENTS clients x $STREAMS streams"
t0=$(date +%s.%N)
set +e
timeout "$H2LOAD_TIMEOUT" "${H2LOAD[@]}" -n "$REQUESTS" "$URL" >"$OUT_DIR/h2load.txt" 2>&1
h2rc=$?
set -e
t1=$(date +%s.%N)
kill -0 "$PID" 2>/dev/null || { cat "$OUT_DIR/collectord.stderr" >&2; die "collectord died during the load"; }
sleep 0.5  # let in-flight batches finish before reading the CPU counters
ticks_after=$(cpu_ticks)
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
accepted_after=$(metric_sum otelcol_receiver_accepted_spans)
refused_after=$(metric_sum otelcol_receiver_refused_spans)
cat "$OUT_DIR/h2load.txt"
(( h2rc == 0 )) || die "h2load exited with status $h2rc"

# "requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout"
read -r done_n ok_n failed_n errored_n timeout_n < <(
    awk '/^requests:/ { for (i = 2; i < NF; i++) v[$(i+1)] = $i
                        print v["done,"]+0, v["succeeded,"]+0, v["failed,"]+0, v["errored,"]+0, v["timeout"]+0 }' \
        "$OUT_DIR/h2load.txt")
[[ -n "${ok_n:-}" ]] || die "could not parse h2load's output"
status_line=$(grep '^status codes:' "$OUT_DIR/h2load.txt" || true)

clk_tck=$(getconf CLK_TCK)
spans=$(( ok_n * SPANS_PER_REQUEST ))
summary=$(awk -v req="$REQUESTS" -v ok="$ok_n" -v spans="$spans" -v t0="$t0" -v t1="$t1" \
    -v ticks=$(( ticks_after - ticks_before )) -v hz="$clk_tck" -v hwm="$hwm_kb" '
    BEGIN {
        wall = t1 - t0; cpu = ticks / hz
        printf "requests                         %d (%d succeeded)\n", req, ok
        printf "spans sent                       %d\n", spans
        printf "wall seconds                     %.3f\n", wall
        printf "spans/s                          %.0f\n", (wall > 0 ? spans / wall : 0)
        printf "collector CPU seconds            %.2f\n", cpu
        printf "CPU-seconds per million spans    %.3f\n", (spans > 0 ? cpu / spans * 1e6 : 0)
        printf "spans per CPU-second             %.0f\n", (cpu > 0 ? spans / cpu : 0)
        printf "peak RSS MiB (VmHWM)             %.1f\n", hwm / 1024
    }')
echo
echo "== result"
echo "$summary"
echo "h2load                           $done_n done, $ok_n succeeded, $failed_n failed, $errored_n errored, $timeout_n timeout"
[[ -n "$status_line" ]] && echo "h2load $status_line"
if [[ -n "$accepted_before" && -n "$accepted_after" ]]; then
    accepted=$(( accepted_after - accepted_before ))
    refused=$(( ${refused_after:-0} - ${refused_before:-0} ))
    echo "collector accepted spans         $accepted (refused $refused)"
else
    accepted=""
    echo "collector accepted spans         unknown (no otelcol_receiver_accepted_spans at $METRICS_URL)"
fi
{ echo "$summary"; grep -E '^(finished in|requests:|status codes:)' "$OUT_DIR/h2load.txt"; } >"$OUT_DIR/result.txt"

(( failed_n == 0 && errored_n == 0 && timeout_n == 0 && ok_n == REQUESTS )) ||
    die "h2load reported failures: $done_n done, $ok_n succeeded, $failed_n failed, $errored_n errored, $timeout_n timeout"
if [[ -n "$accepted" ]] && (( accepted < spans )); then
    die "the collector accepted $accepted of $spans spans (refused $refused): gRPC errors that h2load cannot see"
fi
echo "load.sh: OK"
