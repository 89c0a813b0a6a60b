#!/usr/bin/env bash
# The gateway tier under load (issue 10): h2load sends OTLP/gRPC trace exports (1,000 spans a
# request, fresh trace ids in every trace of the request body) to an agent whose pipeline is
# otlp -> batch -> loadbalancing (static resolver, OTLP/gRPC to the gateways, no disk queue, so
# a request is answered once every share is on its gateway); the gateways run otlp -> batch ->
# nop on 127.0.0.2, .3, .4. For each gateway count (GATEWAYS, default "1 2 3") and each run
# (RUNS, default 3), it prints: spans per CPU-second of the agent and of the gateway tier (CPU
# of all gateways together), throughput, and the request latency p50/p99 from h2load's per-request
# log; the baseline run ("0 gateways") is the agent itself exporting to nop, whose latency the
# tier adds to.
#
#   make bench-gateway          (release build + venv first)
#   RUNS=5 REQUESTS=3000 Benchmarks/gateway.sh
#
# Tunables: REQUESTS (2000), CLIENTS (4), STREAMS (8), SPANS_PER_REQUEST (1000), RUNS (3),
# GATEWAYS ("0 1 2 3"), COLLECTORD_BIN (.build/release/collectord), PYTHON (.venv/bin/python),
# OUT_DIR (Benchmarks/out/gateway).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-2000}
CLIENTS=${CLIENTS:-4}
STREAMS=${STREAMS:-8}
SPANS_PER_REQUEST=${SPANS_PER_REQUEST:-1000}
RUNS=${RUNS:-3}
GATEWAYS=${GATEWAYS:-"0 1 2 3"}
COLLECTORD_BIN=${COLLECTORD_BIN:-.build/release/collectord}
PYTHON=${PYTHON:-.venv/bin/python}
OUT_DIR=${OUT_DIR:-Benchmarks/out/gateway}
AGENT=127.0.0.1:14317
GW_PORT=24317
URL="http://$AGENT/opentelemetry.proto.collector.trace.v1.TraceService/Export"

die() { echo "gateway.sh: $*" >&2; exit 1; }
[[ -x "$COLLECTORD_BIN" ]] || die "$COLLECTORD_BIN not found: run 'make build' (or make bench-gateway)"
[[ -x "$PYTHON" ]] || die "$PYTHON not found: run 'make venv'"
command -v h2load >/dev/null || die "h2load not found: apt-get install nghttp2-client"
. Benchmarks/lib.sh   # port_open, cpu_ticks
mkdir -p "$OUT_DIR"
"$PYTHON" Benchmarks/gen_request.py --spans "$SPANS_PER_REQUEST" --out-dir "$OUT_DIR" >/dev/null
BODY="$OUT_DIR/traces.grpc"

PIDS=()
stop_all() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
trap stop_all EXIT

ticks_of() { PID=$1 cpu_ticks; }

start() {  # config file, address to wait for
    "$COLLECTORD_BIN" --config "$1" >/dev/null 2>>"$OUT_DIR/collectord.stderr" &
    PIDS+=($!)
    for _ in $(seq 1 300); do port_open "$2" && return 0; sleep 0.1; done
    die "no collectord listening on $2 ($1)"
}

gateway_config() {  # ip
    cat >"$OUT_DIR/gw-$1.yaml" <<EOF
receivers: {otlp: {protocols: {grpc: {endpoint: "$1:$GW_PORT"}}}}
processors: {batch: {timeout: ${GATEWAY_BATCH_TIMEOUT:-200ms}}}
exporters: {nop: {}}
service:
  telemetry: {metrics: {address: ""}}
  pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [nop]}}
EOF
}

agent_config() {  # gateway count
    local exporter
    if (( $1 == 0 )); then
        exporter='nop: {}'
    else
        local hosts=""
        for i in $(seq 1 "$1"); do hosts="$hosts\"127.0.0.$((i + 1)):$GW_PORT\", "; done
        exporter="loadbalancing: {protocol: {otlp: {tls: {insecure: true}, compression: none, timeout: 10s}}, resolver: {static: {hostnames: [${hosts%, }]}}}"
    fi
    cat >"$OUT_DIR/agent-$1.yaml" <<EOF
receivers: {otlp: {protocols: {grpc: {endpoint: "$AGENT"}}}}
processors: {batch: {}}
exporters: {$exporter}
service:
  telemetry: {metrics: {address: ""}}
  pipelines: {traces: {receivers: [otlp], processors: [batch], exporters: [$( (( $1 == 0 )) && echo nop || echo loadbalancing)]}}
EOF
}

percentile() {  # file of microseconds, p (0-100)
    sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; printf "%.1f", v[i] / 1000 }'
}

echo "gateways run agent_spans_per_cpu_s gateway_spans_per_cpu_s spans_per_s p50_ms p99_ms"
for g in $GATEWAYS; do
    for run in $(seq 1 "$RUNS"); do
        gw_pids=()
        for i in $(seq 1 "$g"); do
            ip="127.0.0.$((i + 1))"
            gateway_config "$ip"
            start "$OUT_DIR/gw-$ip.yaml" "$ip:$GW_PORT"
            gw_pids+=("${PIDS[-1]}")
        done
        agent_config "$g"
        start "$OUT_DIR/agent-$g.yaml" "$AGENT"
        agent_pid=${PIDS[-1]}
        H2=(h2load -c "$CLIENTS" -m "$STREAMS" -d "$BODY" -H "content-type: application/grpc" -H "te: trailers")
        "${H2[@]}" -n 100 "$URL" >/dev/null   # warm-up
        a0=$(ticks_of "$agent_pid"); g0=0
        for pid in "${gw_pids[@]}"; do g0=$(( g0 + $(ticks_of "$pid") )); done
        t0=$(date +%s.%N)
        rm -f "$OUT_DIR/requests.log"
        "${H2[@]}" -n "$REQUESTS" --log-file="$OUT_DIR/requests.log" "$URL" >"$OUT_DIR/h2load.txt"
        t1=$(date +%s.%N)
        sleep 0.5
        a1=$(ticks_of "$agent_pid"); g1=0
        for pid in "${gw_pids[@]}"; do g1=$(( g1 + $(ticks_of "$pid") )); done
        grep -q "succeeded, 0 failed, 0 errored, 0 timeout" "$OUT_DIR/h2load.txt" || { cat "$OUT_DIR/h2load.txt" >&2; die "h2load reported failures"; }
        # The log's columns: start time, status, response time (us).
        awk '{ print $3 }' "$OUT_DIR/requests.log" >"$OUT_DIR/latency.txt"
        hz=$(getconf CLK_TCK)
        awk -v spans=$(( REQUESTS * SPANS_PER_REQUEST )) -v a=$(( a1 - a0 )) -v gw=$(( g1 - g0 )) -v hz="$hz" \
            -v t0="$t0" -v t1="$t1" -v g="$g" -v run="$run" \
            -v p50="$(percentile "$OUT_DIR/latency.txt" 50)" -v p99="$(percentile "$OUT_DIR/latency.txt" 99)" '
            BEGIN { wall = t1 - t0; printf "%d %d %.0f %s %.0f %s %s\n", g, run, spans / (a / hz), (gw > 0 ? sprintf("%.0f", spans / (gw / hz)) : "-"),
                    spans / wall, p50, p99 }'
        stop_all
        sleep 1   # no process starts right after another's exit
    done
done
