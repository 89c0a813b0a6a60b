#!/usr/bin/env python3
"""Generated traces and an independent evaluation of TraceQL queries over them (for
Tests/QueryAPITests/TraceQLTests.swift).

    traceql_reference.py OUT.pb

Writes OUT.pb, one ExportTraceServiceRequest (Python's protobuf) with 80 deterministic traces
of 2-6 spans across four services, and prints ONE JSON document on stdout:

    {"traces": [hex ids of all traces], "queries": [{"q": TraceQL, "traces": [matching hex ids, sorted]}]}

Each query's matches are computed here with a Python predicate written for that query (the
semantics TraceQL gives it: a spanset matches the spans satisfying its conditions, `&&`/`||`
between spansets need both / either to match), not by parsing TraceQL: the Swift evaluator
is checked against a second, independent implementation.
"""
import json
import random
import re
import sys

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

T0 = 1_765_000_000_000_000_000
MS = 1_000_000
SERVICES = {"frontend": "eu", "checkout": "eu", "payments": "us", "db": "us"}
NAMES = {"frontend": ["GET /", "GET /cart", "POST /checkout"], "checkout": ["POST /orders", "GET /orders/{id}"],
         "payments": ["charge", "refund"], "db": ["SELECT orders", "INSERT orders"]}
METHODS = ["GET", "POST", "PUT"]
K = trace_pb2.Span


def kv(key, value):
    v = common_pb2.AnyValue()
    if isinstance(value, bool):
        v.bool_value = value
    elif isinstance(value, int):
        v.int_value = value
    elif isinstance(value, float):
        v.double_value = value
    else:
        v.string_value = value
    return common_pb2.KeyValue(key=key, value=v)


def generate():
    rng = random.Random(235)
    traces = []  # per trace: list of span dicts (the model the predicates read)
    for t in range(80):
        trace_id = bytes([0xAB, t + 1]) + bytes(14)
        spans = []
        services = ["frontend"] + rng.sample(["checkout", "payments", "db"], rng.randint(1, 3))
        parent = None
        for i in range(rng.randint(2, 6)):
            service = services[min(i, len(services) - 1)] if i < len(services) else rng.choice(services)
            duration = rng.choice([1, 5, 20, 80, 150, 400, 900, 2500]) * MS + rng.randint(0, 999)
            start = T0 + t * 10_000 * MS + i * 3 * MS
            kind = K.SPAN_KIND_SERVER if i == 0 or service in ("checkout", "payments") and rng.random() < 0.6 else \
                rng.choice([K.SPAN_KIND_CLIENT, K.SPAN_KIND_INTERNAL, K.SPAN_KIND_PRODUCER])
            status = rng.choice([0, 0, 0, 1, 2])
            attributes = {}
            if rng.random() < 0.7:
                attributes["http.method"] = rng.choice(METHODS)
            if rng.random() < 0.6:
                attributes["http.status_code"] = rng.choice([200, 200, 201, 404, 500, 503])
            if rng.random() < 0.3:
                attributes["retry"] = rng.random() < 0.5
            if rng.random() < 0.3:
                attributes["ratio"] = round(rng.random(), 3)
            span_id = bytes([t + 1, i + 1]) + bytes(6)
            spans.append(dict(trace_id=trace_id, span_id=span_id, parent=parent if i > 0 else None, service=service,
                              region=SERVICES[service], name=rng.choice(NAMES[service]), kind=kind, status=status,
                              message="boom" if status == 2 else "", start=start, end=start + duration,
                              attributes=attributes))
            parent = span_id if rng.random() < 0.7 or parent is None else parent
        traces.append(spans)
    return traces


def request(traces):
    req = trace_service_pb2.ExportTraceServiceRequest()
    for spans in traces:
        for s in spans:
            rs = req.resource_spans.add()
            rs.resource.attributes.extend([kv("service.name", s["service"]), kv("region", s["region"])])
            sp = rs.scope_spans.add().spans.add()
            sp.trace_id = s["trace_id"]
            sp.span_id = s["span_id"]
            if s["parent"]:
                sp.parent_span_id = s["parent"]
            sp.name = s["name"]
            sp.kind = s["kind"]
            sp.start_time_unix_nano = s["start"]
            sp.end_time_unix_nano = s["end"]
            sp.status.code = s["status"]
            sp.status.message = s["message"]
            sp.attributes.extend(kv(k, v) for k, v in s["attributes"].items())
    return req


def dur(s):
    return s["end"] - s["start"]


def root(spans):
    ids = {s["span_id"] for s in spans}
    roots = [s for s in spans if s["parent"] is None or s["parent"] not in ids]
    return min(roots, key=lambda s: (s["parent"] is not None, s["start"]))


def any_span(pred):
    return lambda spans: any(pred(s, spans) for s in spans)


def attr(s, key):
    """`.key`: the span's attribute, else its resource's (region, service.name)."""
    if key in s["attributes"]:
        return s["attributes"][key]
    return {"service.name": s["service"], "region": s["region"]}.get(key)


def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


QUERIES = [
    ('{ resource.service.name = "payments" }', any_span(lambda s, _: s["service"] == "payments")),
    ('{ status = error }', any_span(lambda s, _: s["status"] == 2)),
    ('{ status != error && kind = server }', any_span(lambda s, _: s["status"] != 2 and s["kind"] == K.SPAN_KIND_SERVER)),
    ('{ duration > 500ms }', any_span(lambda s, _: dur(s) > 500 * MS)),
    ('{ duration >= 150ms && duration < 0.9s }', any_span(lambda s, _: 150 * MS <= dur(s) < 900 * MS)),
    ('{ span.http.status_code >= 500 }',
     any_span(lambda s, _: num(s["attributes"].get("http.status_code")) and s["attributes"]["http.status_code"] >= 500)),
    ('{ .http.method = "POST" && resource.region = "eu" }',
     any_span(lambda s, _: s["attributes"].get("http.method") == "POST" and s["region"] == "eu")),
    ('{ span.region = "eu" }', any_span(lambda s, _: False)),  # region is a resource attribute only
    ('{ .region = "us" }', any_span(lambda s, _: s["region"] == "us")),
    ('{ name =~ "GET .*" }', any_span(lambda s, _: re.fullmatch("GET .*", s["name"]) is not None)),
    ('{ name =~ "orders" }', any_span(lambda s, _: s["name"] == "orders")),  # anchored: matches nothing
    ('{ name !~ ".*orders.*" && resource.service.name = "db" }',
     any_span(lambda s, _: re.fullmatch(".*orders.*", s["name"]) is None and s["service"] == "db")),
    ('{ span.retry = true }', any_span(lambda s, _: s["attributes"].get("retry") is True)),
    ('{ span.ratio > 0.5 }', any_span(lambda s, _: num(s["attributes"].get("ratio")) and s["attributes"]["ratio"] > 0.5)),
    ('{ span.http.method != "GET" }',
     any_span(lambda s, _: "http.method" in s["attributes"] and s["attributes"]["http.method"] != "GET")),
    ('{ rootName = "POST /checkout" }', lambda spans: root(spans)["name"] == "POST /checkout"),
    ('{ rootServiceName = "frontend" && traceDuration > 1s }',
     lambda spans: root(spans)["service"] == "frontend" and max(s["end"] for s in spans) - min(s["start"] for s in spans) > 10**9),
    ('{ statusMessage = "boom" && kind = client }',
     any_span(lambda s, _: s["message"] == "boom" and s["kind"] == K.SPAN_KIND_CLIENT)),
    ('{ resource.service.name = "payments" } && { resource.service.name = "db" }',
     lambda spans: any(s["service"] == "payments" for s in spans) and any(s["service"] == "db" for s in spans)),
    ('{ resource.service.name = "payments" && name = "refund" } || { status = error && duration > 2s }',
     lambda spans: any(s["service"] == "payments" and s["name"] == "refund" for s in spans)
     or any(s["status"] == 2 and dur(s) > 2 * 10**9 for s in spans)),
    ('({ kind = producer } || { kind = client }) && { span.http.status_code = 404 }',
     lambda spans: any(s["kind"] in (K.SPAN_KIND_PRODUCER, K.SPAN_KIND_CLIENT) for s in spans)
     and any(s["attributes"].get("http.status_code") == 404 for s in spans)),
    ('{ (span.http.status_code = 500 || span.http.status_code = 503) && .http.method = "POST" }',
     any_span(lambda s, _: s["attributes"].get("http.status_code") in (500, 503) and s["attributes"].get("http.method") == "POST")),
    ('{ }', lambda spans: True),
]


def main():
    traces = generate()
    with open(sys.argv[1], "wb") as f:
        f.write(request(traces).SerializeToString())
    out = {"traces": sorted(spans[0]["trace_id"].hex() for spans in traces), "queries": []}
    for q, predicate in QUERIES:
        out["queries"].append({"q": q, "traces": sorted(spans[0]["trace_id"].hex() for spans in traces if predicate(spans))})
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
