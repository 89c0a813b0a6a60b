#!/usr/bin/env python3
"""An independent reference of the loadbalancing exporter's ring (the OpenTelemetry Collector
contrib's, as of v0.154.0: PR #41271's construction), written from upstream's description and
checked against upstream's own test vectors below, for the gateway-tier tests to predict which
gateway each trace must land on.

    lb_ring_reference.py --endpoint 127.0.0.2:4317 --endpoint 127.0.0.3:4317 --ids trace-ids.txt

Reads hex trace ids, one per line; prints ONE JSON object {trace id: endpoint}.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import zlib

MAX_POSITIONS = 36000
WEIGHT = 100
PROBE_LIMIT = 10


def build(endpoints: list[str]) -> list[tuple[int, str]]:
    taken = set()
    items = []
    for endpoint in sorted(endpoints):
        for i in range(WEIGHT):
            pos = zlib.crc32(endpoint.encode() + struct.pack("<I", i)) % MAX_POSITIONS
            probed = 0
            while pos in taken and probed < PROBE_LIMIT:
                pos = (pos + 1) % MAX_POSITIONS
                probed += 1
            if probed >= PROBE_LIMIT:
                continue
            taken.add(pos)
            items.append((pos, endpoint))
    return sorted(items)


def lookup(ring: list[tuple[int, str]], key: bytes) -> str:
    pos = zlib.crc32(key) % MAX_POSITIONS
    for item_pos, endpoint in ring:
        if item_pos >= pos:
            return endpoint
    return ring[0][1]


def self_check() -> None:
    ring = build(["endpoint-1", "endpoint-2"])
    assert lookup(ring, bytes([1, 2, 0, 0])) == "endpoint-2"
    assert lookup(ring, bytes([128, 128, 0, 0])) == "endpoint-1"
    assert lookup(ring, b"ad-service-7") == "endpoint-2"
    assert lookup(ring, b"get-recommendations-1") == "endpoint-1"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", action="append", required=True)
    p.add_argument("--ids", required=True)
    args = p.parse_args()
    self_check()
    ring = build(args.endpoint)
    out = {}
    for line in open(args.ids):
        hex_id = line.strip()
        if hex_id:
            out[hex_id] = lookup(ring, bytes.fromhex(hex_id))
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
