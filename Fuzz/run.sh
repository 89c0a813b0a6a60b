#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (see Fuzz/README.md).
#
#   Fuzz/run.sh build                 build every target (.build-fuzz, FUZZ_CONFIG=release by
#                                     default, or debug; ASan + libFuzzer)
#   Fuzz/run.sh smoke [TARGET...]     run each target over its seed corpus plus FUZZ_SMOKE_RUNS mutations
#   Fuzz/run.sh fuzz [TARGET...]      fuzz each target, one after the other, for FUZZ_SECONDS (default
#                                     60) and/or FUZZ_RUNS executions (FUZZ_FLAGS: more libFuzzer
#                                     flags, e.g. -timeout=60 on a busy machine); the corpus grows in
#                                     .build-fuzz/corpus/TARGET, crashes go to .build-fuzz/artifacts
#   Fuzz/run.sh leaks [TARGET...]     re-run the grown corpus of the targets fuzzed without leak
#                                     checks (HTTP/1, HTTP/2) with LeakSanitizer on
#
# A crash, leak, timeout or out-of-memory stops the run with the failing target's log.
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$FUZZ_DIR")"
SCRATCH="$ROOT/.build-fuzz"
# release for fuzzing; `make test`'s smoke run uses debug, which builds in half the time.
CONFIG="${FUZZ_CONFIG:-release}"
BIN="$SCRATCH/$CONFIG"
SWIFT="${SWIFT:-swift}"

ALL_TARGETS=(FuzzOTLPProtobuf FuzzOTLPJSON FuzzHTTP1 FuzzHTTP2 FuzzGRPC FuzzConfig FuzzSegment FuzzIndex FuzzFileLog FuzzLoki)

# The largest input each target is given (bytes).
max_len() {
    case "$1" in
        FuzzSegment) echo 65536 ;;
        FuzzOTLPProtobuf | FuzzOTLPJSON | FuzzHTTP2) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

# The HTTP targets run sessions on Dispatch queues, whose allocations do not balance within one
# input, so libFuzzer's per-input leak check would run LeakSanitizer's full scan on most inputs
# (10x slower): they are fuzzed without it and their corpus is leak-checked afterwards (`leaks`).
leak_flag() {
    case "$1" in
        FuzzHTTP1 | FuzzHTTP2) echo "-detect_leaks=0" ;;
        *) echo "-detect_leaks=1" ;;
    esac
}

export SWIFT_BACKTRACE=enable=no   # libFuzzer reports crashes itself

build() {
    cd "$FUZZ_DIR"
    # `--sanitize fuzzer` tells SwiftPM that libFuzzer provides `main`; the -Xswiftc flag then
    # sets both sanitizers at once (swiftc keeps only the last -sanitize= it is given).
    "$SWIFT" build -c "$CONFIG" --scratch-path "$SCRATCH" --sanitize fuzzer \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing \
        -Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address
}

# run TARGET CORPUS_DIR FLAGS...: one libFuzzer run; prints its last status line.
run() {
    local target="$1" corpus="$2"
    shift 2
    local log="$SCRATCH/logs/$target-$CONFIG.log"
    mkdir -p "$SCRATCH/logs" "$SCRATCH/artifacts" "$corpus"
    local status=0
    (cd "$SCRATCH/artifacts" && nice -n "${FUZZ_NICE:-0}" "$BIN/$target" "$corpus" "$FUZZ_DIR/corpus/$target" \
        -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$SCRATCH/artifacts/$target-" "$@") >"$log" 2>&1 || status=$?
    if [[ $status -ne 0 ]]; then
        echo "fuzz: $target failed (exit $status); log: $log" >&2
        grep -E "ERROR|Fatal error|SUMMARY|Test unit written" "$log" | head -20 >&2 || true
        return 1
    fi
    local runs speed cov
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE "cov: [0-9]+" "$log" | tail -1 | cut -d' ' -f2)
    printf '%-18s %12s runs %8s exec/s  cov %s\n' "$target" "${runs:-?}" "${speed:-?}" "${cov:-?}"
}

command="${1:-}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")

case "$command" in
    build)
        build
        ;;
    smoke)
        # Every seed, then a few mutations; new inputs go to a throwaway directory.
        scratch_corpus="$(mktemp -d)"
        trap 'rm -rf "$scratch_corpus"' EXIT
        for target in "${targets[@]}"; do
            run "$target" "$scratch_corpus/$target" -runs="${FUZZ_SMOKE_RUNS:-2000}" -seed=1 "$(leak_flag "$target")"
        done
        ;;
    fuzz)
        # Whichever comes first when both are given; 60 seconds when neither is.
        limit=()
        [[ -z "${FUZZ_SECONDS:-}" ]] || limit+=(-max_total_time="$FUZZ_SECONDS")
        [[ -z "${FUZZ_RUNS:-}" ]] || limit+=(-runs="$FUZZ_RUNS")
        [[ ${#limit[@]} -gt 0 ]] || limit=(-max_total_time=60)
        for target in "${targets[@]}"; do
            # shellcheck disable=SC2086  # FUZZ_FLAGS: more libFuzzer flags, split on spaces
            run "$target" "$SCRATCH/corpus/$target" "${limit[@]}" "$(leak_flag "$target")" ${FUZZ_FLAGS:-}
        done
        ;;
    leaks)
        for target in "${targets[@]}"; do
            run "$target" "$SCRATCH/corpus/$target" -runs=0 -detect_leaks=1
            if grep -q "LeakSanitizer" "$SCRATCH/logs/$target-$CONFIG.log"; then
                echo "fuzz: $target leaks; log: $SCRATCH/logs/$target-$CONFIG.log" >&2
                exit 1
            fi
        done
        ;;
    *)
        sed -n '2,12p' "$0" >&2
        exit 2
        ;;
esac
