#!/usr/bin/env bash
# The cost of k8sattributes: OTLP/gRPC -> k8sattributes -> batch -> nop beside the same
# pipeline without it (bench-nop-config.yaml), both driven by load.sh (h2load, the same
# 1,000-span request, 5 resources each). The fake Kubernetes API server (the test suite's)
# holds 110 pods on this node (one of them with IP 127.0.0.1, the load's client address, so
# every resource is matched and enriched) and 40 on another node.
#
#   make bench-k8s            (release build and venv first)
#   RUNS=5 REQUESTS=2000 Benchmarks/k8s.sh
#
# Runs alternate (plain, k8s, plain, k8s, ...) with a pause between them; prints each run and
# the medians of spans per CPU-second and peak RSS, and the ratio of the medians.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
PYTHON=${PYTHON:-.venv/bin/python}
OUT_DIR=${OUT_DIR:-Benchmarks/out}
PAUSE=${PAUSE:-3}
export OUT_DIR
mkdir -p "$OUT_DIR"
STATE=$(mktemp -d)
FAKE_PID=""
cleanup() {
    [[ -n "$FAKE_PID" ]] && kill "$FAKE_PID" 2>/dev/null || true
    rm -rf "$STATE"
}
trap cleanup EXIT

"$PYTHON" Tests/EndToEndTests/clients/fake_kube_api.py --token bench --state-dir "$STATE" >"$STATE/info.json" 2>"$STATE/fake.log" &
FAKE_PID=$!
for _ in $(seq 1 100); do [[ -s "$STATE/info.json" ]] && break; sleep 0.1; done
CONTROL=$("$PYTHON" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["control_port"])' "$STATE/info.json")
export BENCH_KUBECONFIG=$("$PYTHON" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["kubeconfig"])' "$STATE/info.json")
export K8S_NODE_NAME=bench-node
"$PYTHON" - "$CONTROL" <<'PY'
import json, sys, urllib.request
pods = []
for i in range(150):
    node = "bench-node" if i < 110 else "other-node"
    ip = "127.0.0.1" if i == 0 else f"10.20.{i // 250}.{i % 250 + 2}"
    pods.append({"name": f"app-{i:03d}", "namespace": f"team-{i % 8}", "node": node, "ip": ip,
                 "owner": {"kind": "Deployment", "name": f"app-{i % 30:02d}"},
                 "labels": {"team": f"t{i % 8}", "app": f"app-{i % 30:02d}"},
                 "containers": [{"name": "main", "image": f"registry.local/app-{i % 30:02d}:1.{i % 5}"}]})
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/_control/pods", data=json.dumps(pods).encode(),
                             headers={"content-type": "application/json"})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
print("fake API server:", opener.open(req).read().decode()[:200])
PY

value() { awk -v k="$1" 'index($0, k) == 1 { print $NF }' "$OUT_DIR/result.txt"; }
declare -a plain_rate plain_rss k8s_rate k8s_rss
for run in $(seq 1 "$RUNS"); do
    for variant in plain k8s; do
        config=Benchmarks/bench-nop-config.yaml
        [[ $variant == k8s ]] && config=Benchmarks/bench-k8s-config.yaml
        sleep "$PAUSE"
        CONFIG=$config Benchmarks/load.sh >"$OUT_DIR/k8s-$variant-$run.txt" 2>&1 ||
            { cat "$OUT_DIR/k8s-$variant-$run.txt" >&2; echo "k8s.sh: load.sh failed" >&2; exit 1; }
        rate=$(value "spans per CPU-second")
        rss=$(value "peak RSS MiB")
        echo "run $run $variant: $rate spans per CPU-second, peak RSS $rss MiB"
        if [[ $variant == k8s ]]; then k8s_rate+=("$rate"); k8s_rss+=("$rss"); else plain_rate+=("$rate"); plain_rss+=("$rss"); fi
    done
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pr=$(median "${plain_rate[@]}"); kr=$(median "${k8s_rate[@]}")
pm=$(median "${plain_rss[@]}"); km=$(median "${k8s_rss[@]}")
echo
echo "== medians of $RUNS runs"
echo "batch -> nop                 $pr spans per CPU-second, peak RSS $pm MiB"
echo "k8sattributes -> batch -> nop $kr spans per CPU-second, peak RSS $km MiB"
awk -v p="$pr" -v k="$kr" 'BEGIN { printf "k8sattributes cost            %.1f%% of CPU per span\n", (p / k - 1) * 100 }'
