#!/usr/bin/env bash
# Many clients: CLIENTS (1,000) concurrent OTLP clients, each sending a 10-span request RPS
# times a second for DURATION seconds, over gRPC (HTTP/2, h2c) and over OTLP/HTTP (HTTP/1.1
# protobuf), against a release collectord (bench-connections-config.yaml: OTLP in, batch,
# nop). h2load opens the connections and paces the requests (--rps) and logs every request's
# time to its answer (--log-file); this prints, per protocol and rate: answered requests, spans
# per second, latency to acknowledgement (p50 / p99 / max), spans refused, the collector's CPU
# and its peak RSS. Acknowledgement is end to end: a request is answered once its spans have
# left the batch processor (after its 200 ms timeout at these rates) and the exporter took them.
# A fresh collector per measurement; RUNS runs of each.
#
#   make bench-clients       (release build and venv first)
#   RUNS=3 CLIENTS=1000 RATES="1 5" DURATION=20 Benchmarks/clients.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh   # port_open, cpu_ticks, metric_sum

RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-1000}
RATES=${RATES:-1 5}
DURATION=${DURATION:-20}
PYTHON=${PYTHON:-.venv/bin/python}
OUT_DIR=${OUT_DIR:-Benchmarks/out}/clients
METRICS_URL=http://127.0.0.1:18888/metrics
command -v h2load >/dev/null || { echo "clients.sh: h2load not found: apt-get install nghttp2-client" >&2; exit 1; }
mkdir -p "$OUT_DIR"
"$PYTHON" Benchmarks/gen_request.py --spans 10 --out-dir "$OUT_DIR" >/dev/null
ulimit -n "$(ulimit -Hn)"   # h2load's side of the connections (the hard limit)
TICKS=$(getconf CLK_TCK)

PID=""
cleanup() { [[ -n "$PID" ]] && kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT

# measure KIND RATE RUN: one collector, one h2load run; prints one line of key=value.
measure() {
    local kind=$1 rate=$2 run=$3 log="$OUT_DIR/$1-$2-$3.log"
    .build/release/collectord --config Benchmarks/bench-connections-config.yaml >/dev/null 2>"$OUT_DIR/collectord.stderr" &
    PID=$!
    for _ in $(seq 1 100); do port_open 127.0.0.1:14318 && port_open 127.0.0.1:18888 && break; sleep 0.1; done
    local args=(-c "$CLIENTS" -m 1 -t 1 --rps "$rate" -D "$DURATION" --log-file "$log")
    if [[ $kind == grpc ]]; then
        args+=(-d "$OUT_DIR/traces.grpc" -H "content-type: application/grpc" -H "te: trailers"
               "http://127.0.0.1:14317/opentelemetry.proto.collector.trace.v1.TraceService/Export")
    else
        args+=(--h1 -d "$OUT_DIR/traces.pb" -H "content-type: application/x-protobuf" "http://127.0.0.1:14318/v1/traces")
    fi
    local t0 t1
    rm -f "$log"   # h2load appends
    t0=$(cpu_ticks)
    h2load "${args[@]}" >"$OUT_DIR/h2load-$kind-$rate-$run.txt" 2>&1 || true
    t1=$(cpu_ticks)
    local accepted refused hwm
    accepted=$(metric_sum otelcol_receiver_accepted_spans)
    refused=$(metric_sum otelcol_receiver_refused_spans)
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$PID/status")
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    "$PYTHON" - "$log" "$kind" "$rate" "$run" "$DURATION" "$(( t1 - t0 ))" "$TICKS" "${accepted:-0}" "${refused:-0}" "$hwm" <<'PY'
import sys
log, kind, rate, run, duration, ticks, hz, accepted, refused, hwm = sys.argv[1:]
rows = [l.split("\t") for l in open(log) if l.strip()]
ok = sorted(int(r[2]) for r in rows if r[1] == "200")
failed = sum(1 for r in rows if r[1] != "200")
def pct(p):
    return ok[min(len(ok) - 1, int(len(ok) * p))] / 1000 if ok else float("nan")
spans = len(ok) * 10
# A gRPC error is an HTTP 200 with grpc-status in the trailers, which h2load counts as a
# success: the collector's own refused count tells.
print(f"kind={kind} rate={rate} run={run} answered={len(ok)} failed={failed} accepted_spans={accepted} refused_spans={refused} "
      f"spans_per_s={spans / float(duration):.0f} p50_ms={pct(0.50):.2f} p99_ms={pct(0.99):.2f} max_ms={ok[-1] / 1000 if ok else float('nan'):.2f} "
      f"cpu_s={int(ticks) / int(hz):.2f} peak_rss_mib={int(hwm) / 1024:.1f}")
PY
    sleep 2
}

RESULTS="$OUT_DIR/results.txt"
: >"$RESULTS"
for rate in $RATES; do
    for run in $(seq 1 "$RUNS"); do
        for kind in grpc http1; do
            measure "$kind" "$rate" "$run" | tee -a "$RESULTS"
        done
    done
done

echo
"$PYTHON" - "$RESULTS" <<'PY'
import statistics, sys
rows = [dict(kv.split("=") for kv in l.split()) for l in open(sys.argv[1]) if l.strip()]
for key in sorted({(r["kind"], r["rate"]) for r in rows}):
    sel = [r for r in rows if (r["kind"], r["rate"]) == key]
    med = lambda f: statistics.median(float(r[f]) for r in sel)
    print(f"{key[0]:5} {key[1]:>3}/s per client: spans/s {med('spans_per_s'):,.0f}  p50 {med('p50_ms'):.2f} ms  "
          f"p99 {med('p99_ms'):.2f} ms  CPU {med('cpu_s'):.2f} s  peak RSS {med('peak_rss_mib'):.1f} MiB  "
          f"HTTP errors {sum(int(r['failed']) for r in sel)}, refused spans {sum(int(r['refused_spans']) for r in sel)}  (medians of {len(sel)} runs)")
PY
