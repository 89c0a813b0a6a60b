#!/usr/bin/env python3
"""Decides spans with sampling_reference.py (an independent model of the OTel Collector's
probabilistic_sampler) for the Swift differential test.

    sample_ids.py MODE PERCENT SEED PRECISION FAIL_CLOSED INPUT_FILE

Each input line is `<trace id hex> <tracestate or ->`; each output line is `1 <tracestate or ->`
for a kept span, `0` for a dropped one.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sampling_reference as ref  # noqa: E402


def main():
    mode, pct, seed, precision, fail_closed, path = sys.argv[1:7]
    pct, seed, precision = float(pct), int(seed), int(precision)
    closed = fail_closed == "true"
    out = []
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines:
        tid_hex, ts = line.split()
        ts = "" if ts == "-" else ts
        sampled, ts_out = ref.decide_trace(mode, pct, seed, precision, closed, bytes.fromhex(tid_hex), ts)
        out.append("1 " + (ts_out if ts_out else "-") if sampled else "0")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
