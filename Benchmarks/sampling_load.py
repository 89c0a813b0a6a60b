#!/usr/bin/env python3
"""OTLP/gRPC load for the sampling benchmarks: unlike `h2load -d` (one body sent again and
again), every request carries new trace ids, so a tail sampler holds traces as it would in
production.

    sampling_load.py --target 127.0.0.1:14317 --requests 2000 --spans 1000 --bodies 400 --concurrency 8

Builds --bodies distinct requests with gen_request.build (traces of 10 spans over five
services, some with error statuses, varied latencies, realistic attributes), then sends
--requests of them round-robin with --concurrency calls in flight (pre-serialized bytes, so the
client spends no time encoding). With --requests <= --bodies every trace id is new. Prints one
JSON line: requests, spans sent, failures, seconds.
"""

import argparse
import json
import os
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_request import build  # noqa: E402

METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--target", default="127.0.0.1:14317")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--spans", type=int, default=1000)
    p.add_argument("--bodies", type=int, default=400)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    bodies = [build(a.spans, a.seed * 100_000 + i).SerializeToString() for i in range(a.bodies)]
    channel = grpc.insecure_channel(a.target, options=[("grpc.max_send_message_length", 64 << 20)])
    call = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
    grpc.channel_ready_future(channel).result(timeout=30)
    lock = threading.Lock()
    state = {"next": 0, "failed": 0, "done": 0}

    def worker():
        while True:
            with lock:
                i = state["next"]
                if i >= a.requests:
                    return
                state["next"] = i + 1
            try:
                call(bodies[i % len(bodies)], timeout=60)
                ok = True
            except grpc.RpcError:
                ok = False
            with lock:
                state["done"] += 1
                state["failed"] += 0 if ok else 1

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    print(json.dumps({"requests": state["done"], "spans": (state["done"] - state["failed"]) * a.spans,
                      "failed": state["failed"], "seconds": round(elapsed, 3)}))
    return 0 if state["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
