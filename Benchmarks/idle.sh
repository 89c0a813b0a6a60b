#!/usr/bin/env bash
# collectord at rest: idle RSS of the release binary with config/collector.yaml (OTLP gRPC and
# HTTP receivers, batch, the store, health_check, query), 5 s after start, and the sizes of the
# binaries. Three builds side by side, each run RUNS times, alternating:
#   dynamic        built in .build-dynamic (the Swift runtime as shared libraries)
#   dynamic-keep   the same with COLLECTORD_KEEP_CODE_PAGES=1 (startup code pages kept resident)
#   static         .build/release/collectord (make build and deploy/Dockerfile: --static-swift-stdlib), stripped
#
#   make bench-idle           (release builds first)
#   RUNS=5 Benchmarks/idle.sh
#
# Prints each run (VmRSS, RssAnon, RssFile in KiB) and the median VmRSS of each build.
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/lib.sh   # median

RUNS=${RUNS:-5}
SETTLE=${SETTLE:-5}
DYNAMIC_BUILD=${DYNAMIC_BUILD:-.build-dynamic}
WORK=$(mktemp -d)
PID=""
cleanup() {
    [[ -n "$PID" ]] && kill "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

swift build -c release --product collectord --static-swift-stdlib >/dev/null
swift build -c release --product collectord --scratch-path "$DYNAMIC_BUILD" >/dev/null
DYNAMIC="$DYNAMIC_BUILD/release/collectord"
STATIC="$WORK/collectord-static"
strip -o "$STATIC" .build/release/collectord

# The same config with its store under the scratch directory and free ports.
sed "s#\./data#$WORK/data#g" config/collector.yaml >"$WORK/collector.yaml"

# measure NAME BINARY [ENV...]: one run; prints "NAME VmRSS RssAnon RssFile".
measure() {
    local name=$1 binary=$2
    shift 2
    rm -rf "$WORK/data"
    env "$@" "$binary" --config "$WORK/collector.yaml" >"$WORK/$name.log" 2>&1 &
    PID=$!
    sleep "$SETTLE"
    local rss anon file
    rss=$(awk '/^VmRSS/{print $2}' /proc/$PID/status)
    anon=$(awk '/^RssAnon/{print $2}' /proc/$PID/status)
    file=$(awk '/^RssFile/{print $2}' /proc/$PID/status)
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
    echo "$name $rss $anon $file"
    sleep 1
}

results="$WORK/results"
for run in $(seq 1 "$RUNS"); do
    for build in dynamic dynamic-keep static; do
        case $build in
            dynamic) line=$(measure dynamic "$DYNAMIC") ;;
            dynamic-keep) line=$(measure dynamic-keep "$DYNAMIC" COLLECTORD_KEEP_CODE_PAGES=1) ;;
            static) line=$(measure static "$STATIC") ;;
        esac
        echo "run $run: $line (KiB: VmRSS RssAnon RssFile)"
        echo "$line" >>"$results"
    done
done

echo
for build in dynamic dynamic-keep static; do
    m=$(awk -v b=$build '$1==b{print $2}' "$results" | median)
    printf '%-13s median VmRSS %6.0f KiB = %5.1f MiB\n' "$build" "$m" "$(echo "$m/1024" | bc -l)"
done
runtime=$(ldd "$DYNAMIC" | awk '/\/swift\/linux\//{print $3}' | xargs du -cbL | tail -1 | cut -f1)
printf 'binary sizes: dynamic %d bytes (+ %d bytes of Swift runtime libraries it loads), static stripped %d bytes\n' \
    "$(stat -c %s "$DYNAMIC")" "$runtime" "$(stat -c %s "$STATIC")"
