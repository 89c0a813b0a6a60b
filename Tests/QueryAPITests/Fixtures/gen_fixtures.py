#!/usr/bin/env python3
"""Regenerate the query API's OTLP fixtures with the reference protobuf implementation.

Run from the repository root (the venv that scripts/gen-otlp-proto.py uses):

    .venv-gen/bin/python Tests/QueryAPITests/Fixtures/gen_fixtures.py

Outputs (committed):
    trace.pb   ExportTraceServiceRequest: one trace (4bf92f3577b34da6a3ce929d0e0e4736) across
               three services, 8 spans in 4 resource entries (two entries share the frontend
               resource, so they are one Jaeger process), with every attribute value type,
               events, a link, a trace state, an ERROR span (SELECT orders), and a span whose
               parent is not in the trace (async settle).
    logs.pb    ExportLogsServiceRequest: 5 log records of that trace: under the root span, under
               the error span, a structured (kvlist) body, one without span id and one with a
               span id that is not in the trace (both shown under the root span), one with
               only an observed time.

The goldens (trace.jaeger.json here, trace.tree.txt in Tests/CollectorctlTests/Fixtures) are
written by the Swift tests themselves:

    UPDATE_GOLDEN=1 swift test --filter 'QueryAPITests|CollectorctlTests'
"""

import os

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
MS = 1_000_000
TRACE = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")

ROOT = bytes.fromhex("00f067aa0ba902b7")
CLIENT = bytes.fromhex("b7ad6b7169203331")
CHECKOUT = bytes.fromhex("53995c3f42cd8ad8")
SELECT = bytes.fromhex("a1b2c3d4e5f60718")
PUBLISH = bytes.fromhex("1f2e3d4c5b6a7988")
CHARGE = bytes.fromhex("c0ffee0000000001")
RENDER = bytes.fromhex("5e5e5e5e5e5e5e5e")
SETTLE = bytes.fromhex("0badcafe00000002")
MISSING_PARENT = bytes.fromhex("deadbeef00000001")


def s(v):
    return common_pb2.AnyValue(string_value=v)


def i(v):
    return common_pb2.AnyValue(int_value=v)


def d(v):
    return common_pb2.AnyValue(double_value=v)


def b(v):
    return common_pb2.AnyValue(bool_value=v)


def kv(key, value):
    return common_pb2.KeyValue(key=key, value=value)


def arr(*values):
    return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=list(values)))


def kvl(*pairs):
    return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=[kv(k, v) for k, v in pairs]))


def frontend(resource):
    resource.attributes.extend([
        kv("service.name", s("frontend")),
        kv("service.version", s("1.2.0")),
        kv("k8s.pod.name", s("frontend-7d9f")),
    ])


def span(scope_spans, span_id, parent, name, kind, start_ms, end_ms, attributes=(), status=None):
    sp = scope_spans.spans.add()
    sp.trace_id = TRACE
    sp.span_id = span_id
    if parent:
        sp.parent_span_id = parent
    sp.name = name
    sp.kind = kind
    sp.start_time_unix_nano = T0 + int(start_ms * MS)
    sp.end_time_unix_nano = T0 + int(end_ms * MS)
    sp.attributes.extend(attributes)
    if status:
        sp.status.code, sp.status.message = status
    return sp


def traces_request():
    K = trace_pb2.Span
    req = trace_service_pb2.ExportTraceServiceRequest()

    rs = req.resource_spans.add()
    frontend(rs.resource)
    ss = rs.scope_spans.add()
    ss.scope.name = "io.opentelemetry.flask"
    ss.scope.version = "0.45b0"
    span(ss, ROOT, None, "GET /checkout", K.SPAN_KIND_SERVER, 0, 120, [
        kv("http.request.method", s("GET")), kv("url.path", s("/checkout")),
        kv("http.response.status_code", i(200)), kv("user_agent.original", s("curl/8.5.0"))])
    client = span(ss, CLIENT, ROOT, "HTTP POST", K.SPAN_KIND_CLIENT, 5, 85, [
        kv("http.request.method", s("POST")), kv("server.address", s("checkout")),
        kv("http.response.status_code", i(200))])
    event = client.events.add()
    event.time_unix_nano = T0 + 6 * MS
    event.name = "retry"
    event.attributes.append(kv("attempt", i(1)))

    rs = req.resource_spans.add()
    rs.resource.attributes.extend([kv("service.name", s("checkout")), kv("deployment.environment", s("prod"))])
    ss = rs.scope_spans.add()
    ss.scope.name = "checkout-lib"
    checkout = span(ss, CHECKOUT, CLIENT, "POST /api/checkout", K.SPAN_KIND_SERVER, 10, 80, [
        kv("http.route", s("/api/checkout")),
        kv("cart.items", i(3)),
        kv("cart.total", d(59.9)),
        kv("vip", b(True)),
        kv("labels", arr(s("a"), i(1), b(False))),
        kv("limits", kvl(("max", i(5)), ("unit", s("item")))),
        kv("blob", common_pb2.AnyValue(bytes_value=b"\x00\x01\xfe")),
        kv("note", s('naïve ✓ "quoted"\nsecond line')),
    ])
    checkout.trace_state = "vendor=x"
    link = checkout.links.add()
    link.trace_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    link.span_id = bytes.fromhex("b9c7c989f97918e1")
    select = span(ss, SELECT, CHECKOUT, "SELECT orders", K.SPAN_KIND_CLIENT, 20, 50, [
        kv("db.system", s("postgresql")), kv("db.statement", s("SELECT * FROM orders WHERE id = $1"))],
        status=(trace_pb2.Status.STATUS_CODE_ERROR, "connection reset by peer"))
    exc = select.events.add()
    exc.time_unix_nano = T0 + 49 * MS
    exc.name = "exception"
    exc.attributes.extend([kv("exception.type", s("ConnectionError")),
                           kv("exception.message", s("connection reset by peer"))])
    span(ss, PUBLISH, CHECKOUT, "publish order", K.SPAN_KIND_PRODUCER, 60, 70, [
        kv("messaging.system", s("kafka")), kv("messaging.destination.name", s("orders"))],
        status=(trace_pb2.Status.STATUS_CODE_OK, ""))

    rs = req.resource_spans.add()
    rs.resource.attributes.append(kv("service.name", s("payments")))
    ss = rs.scope_spans.add()
    span(ss, CHARGE, CHECKOUT, "charge card", K.SPAN_KIND_SERVER, 52, 58, [kv("rpc.system", s("grpc"))])
    span(ss, SETTLE, MISSING_PARENT, "async settle", K.SPAN_KIND_CONSUMER, 130, 140)

    # The frontend resource again (a later batch): the same Jaeger process.
    rs = req.resource_spans.add()
    frontend(rs.resource)
    ss = rs.scope_spans.add()
    ss.scope.name = "io.opentelemetry.flask"
    ss.scope.version = "0.45b0"
    span(ss, RENDER, ROOT, "render receipt", K.SPAN_KIND_INTERNAL, 90, 110)
    return req


def logs_request():
    req = logs_service_pb2.ExportLogsServiceRequest()

    rl = req.resource_logs.add()
    frontend(rl.resource)
    sl = rl.scope_logs.add()
    rec = sl.log_records.add()
    rec.time_unix_nano = T0 + 1 * MS
    rec.severity_number = 9
    rec.body.string_value = "checkout started"
    rec.attributes.append(kv("user.id", i(42)))
    rec.trace_id, rec.span_id = TRACE, ROOT
    rec = sl.log_records.add()
    rec.time_unix_nano = T0 + 115 * MS
    rec.severity_number = 10
    rec.event_name = "request.done"
    rec.body.string_value = "request finished"
    rec.trace_id = TRACE

    rl = req.resource_logs.add()
    rl.resource.attributes.append(kv("service.name", s("checkout")))
    sl = rl.scope_logs.add()
    rec = sl.log_records.add()
    rec.time_unix_nano = T0 + int(49.5 * MS)
    rec.severity_number = 17
    rec.severity_text = "ERROR"
    rec.body.string_value = "query failed: connection reset by peer"
    rec.attributes.append(kv("db.system", s("postgresql")))
    rec.trace_id, rec.span_id = TRACE, SELECT
    rec = sl.log_records.add()
    rec.time_unix_nano = T0 + 75 * MS
    rec.severity_number = 13
    rec.body.CopyFrom(kvl(("msg", s("slow checkout")), ("ms", i(70))))
    rec.trace_id, rec.span_id = TRACE, CHECKOUT

    rl = req.resource_logs.add()
    rl.resource.attributes.append(kv("service.name", s("payments")))
    sl = rl.scope_logs.add()
    rec = sl.log_records.add()
    rec.observed_time_unix_nano = T0 + 100 * MS
    rec.body.string_value = "settlement queued"
    rec.trace_id, rec.span_id = TRACE, bytes.fromhex("1111111111111111")
    return req


def write(name, message):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(message.SerializeToString())


if __name__ == "__main__":
    write("trace.pb", traces_request())
    write("logs.pb", logs_request())
