#!/usr/bin/env python3
"""Generate a realistic OTLP ExportTraceServiceRequest for load tests.

The request holds --spans spans (default 1,000) in traces of 10 spans each, spread over five
services (five ResourceSpans with different service.name and Kubernetes-style resource
attributes), about 10 attributes per span with realistic HTTP / database / internal names and
values, varied durations nested inside their parents, proper parent/child ids, a few events
and error statuses. It is deterministic for a given --seed.

Writes, in --out-dir (default Benchmarks/out):
    traces.pb     the serialized protobuf message
    traces.grpc   the same message as one gRPC frame (1 byte flag 0, 4 bytes big-endian
                  length, the message), the request body for `h2load -d`
and prints a one-line JSON summary.

Needs the opentelemetry-proto package (the repository's .venv has it: `make venv`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import sys
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

SERVICES = ["frontend", "recommendation", "checkout", "inventory", "payment"]
SPANS_PER_TRACE = 10

SERVER = Span.SPAN_KIND_SERVER
CLIENT = Span.SPAN_KIND_CLIENT
INTERNAL = Span.SPAN_KIND_INTERNAL

# (service, kind, name, parent index, shape) for the 10 spans of one trace.
TRACE_SHAPE = [
    ("frontend", SERVER, "GET /api/checkout", None, "http_server"),
    ("frontend", CLIENT, "GET", 0, "http_client"),
    ("recommendation", SERVER, "GET /api/recommendations", 1, "http_server"),
    ("frontend", CLIENT, "POST", 0, "http_client"),
    ("checkout", SERVER, "POST /api/orders", 3, "http_server"),
    ("checkout", CLIENT, "SELECT shop.carts", 4, "db"),
    ("checkout", INTERNAL, "compute-order-total", 4, "internal"),
    ("checkout", CLIENT, "GET", 4, "http_client"),
    ("inventory", SERVER, "GET /api/stock/{sku}", 7, "http_server"),
    ("payment", SERVER, "POST /api/charge", 3, "http_server"),
]
# Client span -> the service it calls (for url.full / server.address / peer.service).
CALLEES = {1: "recommendation", 3: "payment", 7: "inventory"}


def kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def resource_for(service: str, index: int) -> Resource:
    pod = f"{service}-{7 + index}f9c{index}d8b-{'xk2p9qwzlm'[index:index + 5]}"
    return Resource(attributes=[
        kv("service.name", service),
        kv("service.version", f"1.{index + 3}.{index * 7 % 10}"),
        kv("service.namespace", "shop"),
        kv("service.instance.id", f"{pod}-0"),
        kv("deployment.environment.name", "production"),
        kv("host.name", f"node-{index % 3 + 1}.cluster.local"),
        kv("k8s.namespace.name", "shop"),
        kv("k8s.pod.name", pod),
        kv("k8s.node.name", f"node-{index % 3 + 1}"),
        kv("container.id", f"{index:02x}" * 32),
        kv("telemetry.sdk.language", ["go", "python", "java", "nodejs", "dotnet"][index]),
        kv("telemetry.sdk.name", "opentelemetry"),
        kv("telemetry.sdk.version", "1.45.0"),
    ])


def attributes_for(shape: str, i: int, rng: random.Random, status_code: int) -> list[KeyValue]:
    if shape == "http_server":
        name, _, route = TRACE_SHAPE[i][2].partition(" ")
        path = route.replace("{sku}", f"SKU-{rng.randint(10000, 99999)}")
        return [
            kv("http.request.method", name),
            kv("http.route", route),
            kv("url.path", path),
            kv("url.scheme", "http"),
            kv("http.response.status_code", status_code),
            kv("server.address", f"{TRACE_SHAPE[i][0]}.shop.svc.cluster.local"),
            kv("server.port", 8080),
            kv("client.address", f"10.42.{rng.randint(0, 7)}.{rng.randint(2, 250)}"),
            kv("network.protocol.version", "1.1"),
            kv("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                      "Chrome/126.0 Safari/537.36"),
        ]
    if shape == "http_client":
        callee = CALLEES[i]
        method = TRACE_SHAPE[i][2]
        return [
            kv("http.request.method", method),
            kv("url.full", f"http://{callee}.shop.svc.cluster.local:8080/api/{callee}?session={rng.getrandbits(48):012x}"),
            kv("server.address", f"{callee}.shop.svc.cluster.local"),
            kv("server.port", 8080),
            kv("peer.service", callee),
            kv("http.response.status_code", status_code),
            kv("network.protocol.version", "1.1"),
            kv("http.request.resend_count", 0),
            kv("http.request.body.size", rng.randint(0, 4096) if method == "POST" else 0),
            kv("http.response.body.size", rng.randint(128, 65536)),
        ]
    if shape == "db":
        return [
            kv("db.system.name", "postgresql"),
            kv("db.namespace", "shop"),
            kv("db.operation.name", "SELECT"),
            kv("db.collection.name", "carts"),
            kv("db.query.text", "SELECT id, sku, quantity, price FROM carts WHERE session_id = $1 AND deleted_at IS NULL"),
            kv("server.address", "postgres.shop.svc.cluster.local"),
            kv("server.port", 5432),
            kv("db.response.returned_rows", rng.randint(0, 40)),
            kv("network.peer.address", f"10.43.0.{rng.randint(2, 40)}"),
            kv("db.client.connection.pool.name", "shop-primary"),
        ]
    return [
        kv("code.function.name", "OrderService.computeTotal"),
        kv("code.file.path", "/app/src/orders/total.py"),
        kv("code.line.number", rng.randint(40, 400)),
        kv("app.cart.items", rng.randint(1, 12)),
        kv("app.cart.total", round(rng.uniform(5, 900), 2)),
        kv("app.currency", rng.choice(["EUR", "USD", "GBP"])),
        kv("app.user.tier", rng.choice(["free", "plus", "business"])),
        kv("app.feature_flag.new_pricing", rng.random() < 0.3),
        kv("thread.name", f"worker-{rng.randint(1, 16)}"),
        kv("app.cache.hit", rng.random() < 0.8),
    ]


def build(n_spans: int, seed: int) -> ExportTraceServiceRequest:
    rng = random.Random(seed)
    by_service: dict[str, list[Span]] = {s: [] for s in SERVICES}
    now = time.time_ns()
    n_traces = n_spans // SPANS_PER_TRACE
    for t in range(n_traces):
        trace_id = rng.getrandbits(128).to_bytes(16, "big")
        span_ids = [rng.getrandbits(64).to_bytes(8, "big") for _ in TRACE_SHAPE]
        failed = rng.random() < 0.05  # some traces end in a failed payment
        # Durations: the root spans 20-400 ms; each child fits inside its parent.
        starts: list[int] = []
        ends: list[int] = []
        root_start = now - (n_traces - t) * 3_000_000 - rng.randint(0, 1_000_000)
        for i, (service, kind, name, parent, shape) in enumerate(TRACE_SHAPE):
            if parent is None:
                start = root_start
                duration = int(rng.lognormvariate(18.5, 0.6))  # ~110 ms median
            else:
                p_start, p_end = starts[parent], ends[parent]
                room = p_end - p_start
                start = p_start + int(room * rng.uniform(0.02, 0.3))
                duration = max(int((p_end - start) * rng.uniform(0.3, 0.95)), 1000)
            starts.append(start)
            ends.append(start + duration)
            status_code = 200
            status = Status()
            events = []
            if failed and service == "payment":
                status_code = 502
                status = Status(code=Status.STATUS_CODE_ERROR, message="card processor unavailable")
                events.append(Span.Event(
                    time_unix_nano=start + duration // 2,
                    name="exception",
                    attributes=[kv("exception.type", "PaymentGatewayError"),
                                kv("exception.message", "upstream returned 502 Bad Gateway")],
                ))
            elif failed and i in (3, 0):
                status_code = 502 if i == 3 else 500
                status = Status(code=Status.STATUS_CODE_ERROR)
            if shape == "db" and rng.random() < 0.2:
                events.append(Span.Event(time_unix_nano=start + 1000, name="pool.wait",
                                         attributes=[kv("pool.wait_ms", rng.randint(1, 30))]))
            by_service[service].append(Span(
                trace_id=trace_id,
                span_id=span_ids[i],
                parent_span_id=span_ids[parent] if parent is not None else b"",
                name=name,
                kind=kind,
                start_time_unix_nano=start,
                end_time_unix_nano=start + duration,
                attributes=attributes_for(shape, i, rng, status_code),
                events=events,
                status=status,
                flags=0x101,  # sampled, with the has-is-remote bit
            ))
    req = ExportTraceServiceRequest()
    for index, service in enumerate(SERVICES):
        req.resource_spans.append(ResourceSpans(
            resource=resource_for(service, index),
            scope_spans=[ScopeSpans(
                scope=InstrumentationScope(name=f"io.opentelemetry.{service}", version="1.45.0"),
                spans=by_service[service],
            )],
            schema_url="https://opentelemetry.io/schemas/1.26.0",
        ))
    return req


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--spans", type=int, default=1000, help="spans in the request, a multiple of 10")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out-dir", default=os.path.join(here, "out"))
    args = p.parse_args(argv)
    if args.spans < SPANS_PER_TRACE or args.spans % SPANS_PER_TRACE:
        p.error(f"--spans must be a positive multiple of {SPANS_PER_TRACE}")

    req = build(args.spans, args.seed)
    data = req.SerializeToString()
    os.makedirs(args.out_dir, exist_ok=True)
    pb_path = os.path.join(args.out_dir, "traces.pb")
    grpc_path = os.path.join(args.out_dir, "traces.grpc")
    with open(pb_path, "wb") as f:
        f.write(data)
    with open(grpc_path, "wb") as f:
        f.write(struct.pack(">BI", 0, len(data)))  # uncompressed flag, big-endian length
        f.write(data)

    spans = sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
    attrs = sum(len(s.attributes) for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans)
    print(json.dumps({
        "spans": spans,
        "traces": args.spans // SPANS_PER_TRACE,
        "resources": len(req.resource_spans),
        "attributesPerSpan": round(attrs / spans, 2),
        "protobufBytes": len(data),
        "grpcFrameBytes": len(data) + 5,
        "pb": pb_path,
        "grpc": grpc_path,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
