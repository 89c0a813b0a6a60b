#!/usr/bin/env bash
# Sampling benchmarks: spans per collector CPU-second and peak RSS for
#   plain        OTLP -> batch -> nop
#   head         OTLP -> probabilistic_sampler (25%) -> batch -> nop
#   tail         OTLP -> tail_sampling (5 policies, decision_wait 5s) -> nop
#   tail-storage the same with `storage` (the crash-safe hold)
# in one run, each with fresh trace ids (Benchmarks/sampling_load.py), then
#   hold-200k    tail_sampling with storage and decision_wait 120s holding 200,000 traces:
#                peak RSS while they are all held.
#
#   make bench-sampling                 (release build and venv first)
#   RUNS=3 REQUESTS=1500 Benchmarks/sampling.sh
#
# Tunables: RUNS (3, medians reported), REQUESTS (1500 requests of 1000 spans per scenario),
# BODIES (1500: every request new trace ids), CONCURRENCY (8), SCENARIOS, COLLECTORD_BIN,
# PYTHON, OUT_DIR (Benchmarks/out/sampling).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-1500}
BODIES=${BODIES:-1500}
CONCURRENCY=${CONCURRENCY:-8}
SCENARIOS=${SCENARIOS:-"plain head tail tail-storage"}
COLLECTORD_BIN=${COLLECTORD_BIN:-.build/release/collectord}
PYTHON=${PYTHON:-.venv/bin/python}
OUT_DIR=${OUT_DIR:-Benchmarks/out/sampling}
GRPC_ADDR=127.0.0.1:14317
METRICS_URL=http://127.0.0.1:18888/metrics
die() { echo "sampling.sh: $*" >&2; exit 1; }
[[ -x "$COLLECTORD_BIN" ]] || die "$COLLECTORD_BIN not found: run 'make build'"
[[ -x "$PYTHON" ]] || die "$PYTHON not found: run 'make venv'"
. Benchmarks/lib.sh
mkdir -p "$OUT_DIR"

policies='
      - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
      - {name: slow, type: latency, latency: {threshold_ms: 400}}
      - {name: checkout, type: string_attribute, string_attribute: {key: http.route, values: [/api/orders]}}
      - {name: five-hundreds, type: numeric_attribute, numeric_attribute: {key: http.response.status_code, min_value: 500, max_value: 599}}
      - {name: baseline, type: probabilistic, probabilistic: {sampling_percentage: 10}}'

config() {  # scenario -> YAML
    local processors exporters="nop:" chain
    case "$1" in
        plain) processors="batch:"; chain="[batch]" ;;
        head) processors=$'probabilistic_sampler:\n    sampling_percentage: 25\n  batch:'; chain="[probabilistic_sampler, batch]" ;;
        tail) processors="tail_sampling:
    decision_wait: 5s
    num_traces: 300000
    policies:$policies"; chain="[tail_sampling]" ;;
        tail-storage|hold-200k) local wait=5s; [[ $1 == hold-200k ]] && wait=120s
            processors="tail_sampling:
    decision_wait: $wait
    num_traces: 300000
    storage: $OUT_DIR/hold
    policies:$policies"; chain="[tail_sampling]" ;;
    esac
    cat <<YAML
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: $GRPC_ADDR
        max_recv_msg_size_mib: 16
processors:
  $processors
exporters:
  $exporters
service:
  telemetry:
    metrics:
      address: 127.0.0.1:18888
  pipelines:
    traces:
      receivers: [otlp]
      processors: $chain
      exporters: [nop]
YAML
}

run_one() {  # scenario requests -> "spans_per_cpu_second peak_rss_mib spans_per_second"
    local scenario=$1 requests=$2
    rm -rf "$OUT_DIR/hold"
    config "$scenario" >"$OUT_DIR/$scenario.yaml"
    "$COLLECTORD_BIN" --config "$OUT_DIR/$scenario.yaml" >/dev/null 2>"$OUT_DIR/$scenario.stderr" &
    PID=$!
    for _ in $(seq 1 300); do port_open "$GRPC_ADDR" && break; sleep 0.1; done
    port_open "$GRPC_ADDR" || die "collectord did not start for $scenario: $(tail -3 "$OUT_DIR/$scenario.stderr")"
    local before after result
    before=$(cpu_ticks)
    result=$("$PYTHON" Benchmarks/sampling_load.py --target "$GRPC_ADDR" --requests "$requests" --bodies "$BODIES" \
             --concurrency "$CONCURRENCY" --seed "$RANDOM")
    sleep 0.5
    after=$(cpu_ticks)
    local hwm held
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
    held=$(metric_sum otelcol_processor_tail_sampling_sampling_traces_on_memory)
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
    local spans seconds
    spans=$(echo "$result" | sed -E 's/.*"spans": ([0-9]+).*/\1/')
    seconds=$(echo "$result" | sed -E 's/.*"seconds": ([0-9.]+).*/\1/')
    awk -v s="$spans" -v t=$(( after - before )) -v hz="$(getconf CLK_TCK)" -v hwm="$hwm" -v w="$seconds" -v held="${held:-0}" \
        'BEGIN { printf "%.0f %.1f %.0f %d\n", s / (t / hz), hwm / 1024, s / w, held }'
}

echo "scenario      run  spans/CPU-s  peak-RSS-MiB  spans/s  held-traces" | tee "$OUT_DIR/results.txt"
for run in $(seq 1 "$RUNS"); do
    for scenario in $SCENARIOS; do
        read -r rate rss wall held < <(run_one "$scenario" "$REQUESTS")
        printf "%-13s %3d %12s %13s %8s %12s\n" "$scenario" "$run" "$rate" "$rss" "$wall" "$held" | tee -a "$OUT_DIR/results.txt"
        sleep 2   # no scenario starts right after another's exit
    done
done
echo
echo "medians over $RUNS runs:"
for scenario in $SCENARIOS; do
    rate=$(awk -v s="$scenario" '$1 == s { print $3 }' "$OUT_DIR/results.txt" | median)
    rss=$(awk -v s="$scenario" '$1 == s { print $4 }' "$OUT_DIR/results.txt" | median)
    printf "%-13s spans/CPU-s %s  peak RSS %s MiB\n" "$scenario" "$rate" "$rss"
done
if [[ " ${HOLD:-yes} " == " yes " ]]; then
    # 200 requests of 1000 spans in traces of 10 spans = 20,000 traces per 200 requests:
    # 2,000 requests hold 200,000 traces (decision_wait 120s: none is decided during the run).
    read -r rate rss wall held < <(BODIES=2000 run_one hold-200k 2000)
    echo "hold-200k: $held traces held, peak RSS $rss MiB, $rate spans/CPU-s" | tee -a "$OUT_DIR/results.txt"
fi
