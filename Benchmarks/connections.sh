#!/usr/bin/env bash
# Memory per idle client connection: a release collectord (bench-connections-config.yaml: OTLP
# gRPC and HTTP in, batch, nop) gets COUNT HTTP/1.1 connections, then COUNT HTTP/2 (gRPC)
# connections, each of which sends one 10-span request and then stays open and idle
# (Benchmarks/connections.py). RUNS runs, each with a fresh collector; prints each run and the
# median bytes per idle connection of each kind.
#
#   make bench-connections     (release build and venv first)
#   RUNS=5 COUNT=1000 Benchmarks/connections.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh   # port_open

RUNS=${RUNS:-5}
COUNT=${COUNT:-1000}
PYTHON=${PYTHON:-.venv/bin/python}
OUT_DIR=${OUT_DIR:-Benchmarks/out}
mkdir -p "$OUT_DIR"
"$PYTHON" Benchmarks/gen_request.py --spans 10 --out-dir "$OUT_DIR/connections" >/dev/null
RESULTS=$(mktemp)
PID=""
cleanup() {
    [[ -n "$PID" ]] && kill "$PID" 2>/dev/null || true
    rm -f "$RESULTS"
}
trap cleanup EXIT

for run in $(seq 1 "$RUNS"); do
    .build/release/collectord --config Benchmarks/bench-connections-config.yaml >/dev/null 2>"$OUT_DIR/collectord-connections.stderr" &
    PID=$!
    for _ in $(seq 1 100); do
        port_open 127.0.0.1:18888 && break
        sleep 0.1
    done
    "$PYTHON" Benchmarks/connections.py --pid "$PID" --count "$COUNT" --body "$OUT_DIR/connections/traces.pb" \
        | while read -r line; do echo "run $run: $line"; echo "$line" >>"$RESULTS"; done
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
    sleep 2
done

echo
"$PYTHON" - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for kind in ("http1", "h2"):
    per = sorted(r["bytes_per_connection"] for r in rows if r["kind"] == kind)
    if per:
        print(f"{kind:6} bytes per idle connection: median {statistics.median(per):,.0f} (runs: {per})")
PY
