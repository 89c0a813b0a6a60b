#!/usr/bin/env bash
# Filelog benchmark: a release collectord tails one big file of realistic JSON lines
# (Benchmarks/gen_json_lines.py, SIZE_MIB, default 1100 MiB) from its beginning, through the
# batch processor, to the `nop` exporter (EXPORTER=nop, default) or to the `loki` exporter
# pushing protobuf+snappy to Benchmarks/loki_sink.py (EXPORTER=loki). Each run starts with an
# empty checkpoint directory and ends when every line has been exported (the exporter's
# otelcol_exporter_sent_log_records counter; for loki, when the sink counted every entry). Reports,
# per run and as the median over RUNS (3): lines/s, MB/s, lines and MB per CPU-second of the
# collector (utime+stime from /proc), and peak RSS (VmHWM).
#
# FORMAT=cri: the same lines as a container's CRI log (stdout and stderr interleaved, one line in
# 50 split into a partial and its rest) under the /var/log/pods layout, through the `container`
# and `json_parser` operators (Benchmarks/bench-filelog-cri.yaml), to nop.
#
#   make bench-filelog                   (builds release and the venv first)
#   EXPORTER=loki RUNS=1 Benchmarks/filelog.sh
#   FORMAT=cri Benchmarks/filelog.sh
set -euo pipefail
cd "$(dirname "$0")/.."

EXPORTER=${EXPORTER:-nop}
FORMAT=${FORMAT:-json}
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1100}
COLLECTORD_BIN=${COLLECTORD_BIN:-.build/release/collectord}
PYTHON=${PYTHON:-python3}
OUT_DIR=${OUT_DIR:-Benchmarks/out}
TIMEOUT=${TIMEOUT:-900}
METRICS_URL=http://127.0.0.1:18888/metrics
CONFIG=Benchmarks/bench-filelog-$EXPORTER.yaml
[[ "$FORMAT" == cri ]] && CONFIG=Benchmarks/bench-filelog-cri.yaml

die() { echo "filelog.sh: $*" >&2; exit 1; }
[[ -f "$CONFIG" ]] || die "EXPORTER must be nop or loki"
[[ "$FORMAT" == json || ( "$FORMAT" == cri && "$EXPORTER" == nop ) ]] || die "FORMAT must be json, or cri with EXPORTER=nop"
[[ -x "$COLLECTORD_BIN" ]] || die "$COLLECTORD_BIN not found: run 'make build' (or make bench-filelog)"
command -v curl >/dev/null || die "curl not found: apt-get install curl"
. Benchmarks/lib.sh   # port_open, cpu_ticks, metric_sum
port_open 127.0.0.1:18888 && die "127.0.0.1:18888 is already in use"

mkdir -p "$OUT_DIR"
export BENCH_LOG BENCH_STATE
BENCH_LOG=$(realpath "$OUT_DIR")/json-$SIZE_MIB.log
GEN_FLAGS=()
if [[ "$FORMAT" == cri ]]; then
    # The kubelet's layout: /var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log
    BENCH_LOG=$(realpath "$OUT_DIR")/pods/shop_checkout-$SIZE_MIB-x2x9q_5f0e7c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b/checkout/0.log
    mkdir -p "$(dirname "$BENCH_LOG")"
    GEN_FLAGS=(--cri)
fi
BENCH_STATE=$(realpath "$OUT_DIR")/filelog-state
if [[ ! -s "$BENCH_LOG.meta" ]]; then
    echo "== generating $SIZE_MIB MiB of $FORMAT lines into $BENCH_LOG"
    "$PYTHON" Benchmarks/gen_json_lines.py "${GEN_FLAGS[@]}" --out "$BENCH_LOG" --size-mib "$SIZE_MIB" >"$BENCH_LOG.meta"
fi
read -r LINES BYTES <"$BENCH_LOG.meta"
echo "== $LINES lines, $BYTES bytes ($(awk -v b="$BYTES" -v l="$LINES" 'BEGIN { printf "%.0f", b / l }') bytes/line), exporter $EXPORTER"

PID=""; SINK=""
cleanup() {
    for p in $PID $SINK; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    PID=""; SINK=""
}
trap cleanup EXIT

results=()
for run in $(seq 1 "$RUNS"); do
    rm -rf "$BENCH_STATE"
    if [[ "$EXPORTER" == loki ]]; then
        rm -rf "$OUT_DIR/loki-sink"
        "$PYTHON" Benchmarks/loki_sink.py --port 13100 --dir "$OUT_DIR/loki-sink" &
        SINK=$!
        for _ in $(seq 1 100); do [[ -f "$OUT_DIR/loki-sink/sink.json" ]] && break; sleep 0.1; done
    fi
    # Drop the file from the page cache? Not possible without root on every machine; instead
    # read it once so every run starts with the same (cached) state.
    cat "$BENCH_LOG" >/dev/null
    t0=$(date +%s.%N)
    "$COLLECTORD_BIN" --config "$CONFIG" >/dev/null 2>"$OUT_DIR/collectord-filelog.stderr" &
    PID=$!
    deadline=$(( $(date +%s) + TIMEOUT ))
    # Done when the exporter has sent every line; for loki, when the sink has counted every
    # entry (the exporter counts a batch as sent once it is in its disk queue).
    done_count() {
        if [[ "$EXPORTER" == loki ]]; then
            "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["entries"])' "$OUT_DIR/loki-sink/sink.json"
        else
            sum=$(metric_sum otelcol_exporter_sent_log_records)
            echo "${sum:-0}"
        fi
    }
    while :; do
        kill -0 "$PID" 2>/dev/null || { cat "$OUT_DIR/collectord-filelog.stderr" >&2; die "collectord exited"; }
        sent=$(done_count)
        (( sent >= LINES )) && break
        (( $(date +%s) < deadline )) || die "timeout: $sent of $LINES lines exported"
        sleep 0.2
    done
    t1=$(date +%s.%N)
    ticks=$(cpu_ticks)
    hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
    (( sent == LINES )) || die "exported $sent lines, the file has $LINES"
    exported=$(metric_sum otelcol_exporter_sent_log_records)
    (( ${exported:-0} == LINES )) || die "the exporter counted $exported lines, the file has $LINES"
    cleanup
    line=$(awk -v lines="$LINES" -v bytes="$BYTES" -v t0="$t0" -v t1="$t1" -v ticks="$ticks" \
               -v hz="$(getconf CLK_TCK)" -v hwm="$hwm_kb" 'BEGIN {
        wall = t1 - t0; cpu = ticks / hz
        printf "%.0f %.1f %.0f %.1f %.2f %.2f %.1f\n", lines / wall, bytes / wall / 1e6, lines / cpu, bytes / cpu / 1e6, wall, cpu, hwm / 1024 }')
    results+=("$line")
    read -r a b c d e f g <<<"$line"
    printf "run %d: %s lines/s, %s MB/s, %s lines/CPU-s, %s MB/CPU-s, wall %s s, CPU %s s, peak RSS %s MiB\n" \
        "$run" "$a" "$b" "$c" "$d" "$e" "$f" "$g"
done

median() { printf "%s\n" "${results[@]}" | awk -v k="$1" '{ print $k }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "== median of $RUNS runs (exporter $EXPORTER, $LINES lines, $BYTES bytes)"
echo "lines/s                 $(median 1)"
echo "MB/s                    $(median 2)"
echo "lines per CPU-second    $(median 3)"
echo "MB per CPU-second       $(median 4)"
echo "peak RSS MiB (VmHWM)    $(median 7)"
