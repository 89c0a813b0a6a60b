#!/usr/bin/env python3
"""Writes N distinct 1,000-span ExportTraceServiceRequests (gen_request.build, seeds as
sampling_load.py uses them) to one file, each prefixed by its 4-byte big-endian length: the
input of Benchmarks/SamplingBench.

    gen_bodies.py <out file> [N=200] [spans=1000]
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_request import build  # noqa: E402


def main(argv):
    out = argv[0]
    n = int(argv[1]) if len(argv) > 1 else 200
    spans = int(argv[2]) if len(argv) > 2 else 1000
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "wb") as f:
        for i in range(n):
            body = build(spans, 100_000 + i).SerializeToString()
            f.write(struct.pack(">I", len(body)))
            f.write(body)
    print(f"{n} bodies of {spans} spans -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
