#!/usr/bin/env bash
# The cost of RED metrics: OTLP/gRPC -> batch -> nop beside the same pipeline that also feeds
# the spanmetrics and servicegraph connectors into the prometheus exporter
# (bench-spanmetrics-config.yaml, about 1,000 series), scraped every second during the run.
# Both are driven by load.sh (h2load, the same 1,000-span request).
#
#   make bench-spanmetrics        (release build and venv first)
#   RUNS=5 REQUESTS=2000 Benchmarks/spanmetrics.sh
#
# Runs alternate (plain, red, plain, red, ...) with a pause between them; prints each run,
# the medians of spans per CPU-second and peak RSS, the ratio of the medians, each pair's own
# cost and their median, and the series the last RED run served.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
OUT_DIR=${OUT_DIR:-Benchmarks/out}
PAUSE=${PAUSE:-3}
export OUT_DIR
mkdir -p "$OUT_DIR"
SCRAPER=""
cleanup() { [[ -n "$SCRAPER" ]] && kill "$SCRAPER" 2>/dev/null || true; }
trap cleanup EXIT

value() { awk -v k="$1" 'index($0, k) == 1 { print $NF }' "$OUT_DIR/result.txt"; }
declare -a plain_rate plain_rss red_rate red_rss
series=""
for run in $(seq 1 "$RUNS"); do
    for variant in plain red; do
        config=Benchmarks/bench-nop-config.yaml
        [[ $variant == red ]] && config=Benchmarks/bench-spanmetrics-config.yaml
        sleep "$PAUSE"
        if [[ $variant == red ]]; then
            # Prometheus's part: a scrape a second while the load runs (and its last answer kept).
            ( while true; do curl -s -o "$OUT_DIR/spanmetrics-scrape.txt" http://127.0.0.1:18889/metrics || true; sleep 1; done ) &
            SCRAPER=$!
        fi
        CONFIG=$config Benchmarks/load.sh >"$OUT_DIR/spanmetrics-$variant-$run.txt" 2>&1 ||
            { cat "$OUT_DIR/spanmetrics-$variant-$run.txt" >&2; echo "spanmetrics.sh: load.sh failed" >&2; exit 1; }
        if [[ $variant == red ]]; then
            kill "$SCRAPER" 2>/dev/null || true
            wait "$SCRAPER" 2>/dev/null || true
            SCRAPER=""
            series=$(grep -c '^traces_span_metrics_calls_total{' "$OUT_DIR/spanmetrics-scrape.txt" || true)
        fi
        rate=$(value "spans per CPU-second")
        rss=$(value "peak RSS MiB")
        echo "run $run $variant: $rate spans per CPU-second, peak RSS $rss MiB"
        if [[ $variant == red ]]; then red_rate+=("$rate"); red_rss+=("$rss"); else plain_rate+=("$rate"); plain_rss+=("$rss"); fi
    done
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pr=$(median "${plain_rate[@]}"); rr=$(median "${red_rate[@]}")
pm=$(median "${plain_rss[@]}"); rm=$(median "${red_rss[@]}")
echo
echo "== medians of $RUNS runs"
echo "batch -> nop                                   $pr spans per CPU-second, peak RSS $pm MiB"
echo "+ spanmetrics, servicegraph -> prometheus      $rr spans per CPU-second, peak RSS $rm MiB"
awk -v p="$pr" -v r="$rr" 'BEGIN { printf "cost of RED metrics                            %.1f%% of CPU per span\n", (p / r - 1) * 100 }'
# Each pair's own cost (plain and RED run one after the other), and their median: steadier than
# the ratio of the medians when the machine's speed drifts during the command.
pair_costs=()
for i in "${!plain_rate[@]}"; do pair_costs+=("$(awk -v p="${plain_rate[$i]}" -v r="${red_rate[$i]}" 'BEGIN { printf "%.1f", (p / r - 1) * 100 }')"); done
echo "cost per pair                                  ${pair_costs[*]} (median $(median "${pair_costs[@]}")%)"
echo "span metrics series served (calls)            $series"
