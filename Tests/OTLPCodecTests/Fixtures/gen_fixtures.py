#!/usr/bin/env python3
"""Regenerate the OTLPCodec test fixtures with the reference protobuf implementation.

Run from the repository root (the venv is the one scripts/gen-otlp-proto.py uses):

    .venv-gen/bin/python Tests/OTLPCodecTests/Fixtures/gen_fixtures.py

Inputs (hand-written, committed):
    traces_input.json, logs_input.json   OTLP/JSON bodies using every lenient input form:
                                         snake_case keys, enum names, int64 as numbers and
                                         strings, upper-case hex ids, unknown fields, nulls,
                                         escapes, NaN/Infinity, base64 bytes.
Outputs (generated, committed):
    traces.pb, logs.pb                   rich requests built below (every AnyValue type, ids,
                                         events, links, status, flags, absent resource/scope,
                                         unknown enum values, escapes, unicode)
    traces.json, logs.json               the OTLP/JSON that OTLPJSON.encode must produce for
                                         them, byte for byte: protobuf's MessageToDict with
                                         integer enums, ids rewritten from base64 to hex,
                                         compact json.dumps with ensure_ascii=False
    traces_input.pb, logs_input.pb       *_input.json parsed by protobuf's json_format (after
                                         rewriting hex ids to base64, which is all that differs
                                         from proto3 JSON), serialized: what OTLPJSON.decode
                                         must produce, byte for byte
    metrics.pb, metrics.json             every kind of metric (see metrics_request), and the
                                         OTLP/JSON OTLPJSON.encode must produce for it
    split.pb                             4 resources x 3/2/2/0 scopes x 0-5 spans named
                                         "r<R>.s<S>.span<I>" for the splitter tests
    traces_response.pb, logs_response.pb partial-success responses (rejected 3, message
    metrics_response.pb                  "3 spans rejected" / "3 log records rejected" /
                                         "3 data points rejected")

The golden debug-exporter outputs (*.detailed.txt) are written by the Swift tests themselves:
    UPDATE_GOLDEN=1 swift test --filter OTLPCodecTests
"""

import base64
import json
import os
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
ID_KEYS = {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z


# ------------------------------------------------------------------------------------------
# AnyValue helpers


def s(v):
    return common_pb2.AnyValue(string_value=v)


def i(v):
    return common_pb2.AnyValue(int_value=v)


def d(v):
    return common_pb2.AnyValue(double_value=v)


def b(v):
    return common_pb2.AnyValue(bool_value=v)


def raw(v):
    return common_pb2.AnyValue(bytes_value=v)


def arr(*values):
    return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=list(values)))


def kvl(*pairs):
    return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=[kv(k, v) for k, v in pairs]))


def kv(key, value):
    return common_pb2.KeyValue(key=key, value=value)


def empty():
    return common_pb2.AnyValue()


TRICKY = 'quote" backslash\\ newline\n tab\t \x01 é 日本 😀'


# ------------------------------------------------------------------------------------------
# Requests


def traces_request():
    req = trace_service_pb2.ExportTraceServiceRequest()

    rs = req.resource_spans.add()
    rs.schema_url = "https://opentelemetry.io/schemas/1.21.0"
    rs.resource.dropped_attributes_count = 2
    rs.resource.attributes.extend([
        kv("service.name", s("checkout")),
        kv("host.cpus", i(8)),
        kv("big", i(9007199254740993)),
        kv("neg", i(-42)),
        kv("zero", i(0)),
        kv("ratio", d(0.25)),
        kv("enabled", b(True)),
        kv("disabled", b(False)),
        kv("raw", raw(b"\x00\xff\x10")),
        kv("tags", arr(s("a"), i(1), b(True), d(2.5))),
        kv("nested", kvl(("k", s("v")), ("inner", arr(raw(b"\x00\xff"), empty())),
                         ("deeper", kvl(("x", i(1)))), ("empty.map", kvl()), ("empty.array", arr()))),
        kv("nothing", empty()),
        kv("empty.string", s("")),
        kv("key with spaces: and colon", s(TRICKY)),
        kv("service.name", s("duplicate key kept")),
    ])
    ref = rs.resource.entity_refs.add()
    ref.type = "host"
    ref.id_keys.append("host.id")
    ref.description_keys.extend(["host.name", "host.arch"])

    ss = rs.scope_spans.add()
    ss.scope.name = "io.opentelemetry.http"
    ss.scope.version = "1.2.3"
    ss.scope.dropped_attributes_count = 1
    ss.scope.attributes.append(kv("lib.flag", b(True)))

    span = ss.spans.add()
    span.trace_id = bytes.fromhex("5b8efff798038103d269b633813fc60c")
    span.span_id = bytes.fromhex("eee19b7ec3c1b174")
    span.trace_state = "rojo=00f067aa0ba902b7"
    span.flags = 257
    span.name = "GET /cart"
    span.kind = trace_pb2.Span.SPAN_KIND_SERVER
    span.start_time_unix_nano = T0 + 123_456_789
    span.end_time_unix_nano = T0 + 125_456_789
    span.attributes.extend([kv("http.status_code", i(500)), kv("http.method", s("GET"))])
    span.dropped_attributes_count = 1
    span.dropped_events_count = 2
    span.dropped_links_count = 3
    ev = span.events.add()
    ev.name = "exception"
    ev.time_unix_nano = T0 + 124_000_000
    ev.attributes.extend([kv("exception.message", s("line 1\nline 2")), kv("exception.escaped", b(False))])
    ev.dropped_attributes_count = 4
    ev2 = span.events.add()
    ev2.name = "retry"
    link = span.links.add()
    link.trace_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    link.span_id = bytes.fromhex("b7ad6b7169203331")
    link.trace_state = "congo=t61rcWkgMzE"
    link.flags = 1
    link.attributes.append(kv("link.kind", s("follows")))
    link.dropped_attributes_count = 5
    span.status.code = trace_pb2.Status.STATUS_CODE_ERROR
    span.status.message = "payment failed"

    span = ss.spans.add()
    span.trace_id = bytes.fromhex("5b8efff798038103d269b633813fc60c")
    span.span_id = bytes.fromhex("0000000000000001")
    span.parent_span_id = bytes.fromhex("eee19b7ec3c1b174")
    span.name = "SELECT carts"
    span.kind = trace_pb2.Span.SPAN_KIND_CLIENT
    span.start_time_unix_nano = T0 + 200_000_000
    span.end_time_unix_nano = T0 + 150_000_000  # ends before it starts: negative duration
    span.status.code = trace_pb2.Status.STATUS_CODE_OK

    ss2 = rs.scope_spans.add()  # no scope message at all
    ss2.schema_url = "https://opentelemetry.io/schemas/1.20.0"
    span = ss2.spans.add()
    span.trace_id = bytes.fromhex("ffffffffffffffffffffffffffffffff")
    span.span_id = bytes.fromhex("8000000000000000")
    span.name = "unicode ✓ " + TRICKY
    span.kind = trace_pb2.Span.SPAN_KIND_INTERNAL
    span.start_time_unix_nano = 18_446_744_073_709_551_615  # max uint64
    span.end_time_unix_nano = 18_446_744_073_709_551_615
    span.attributes.extend([kv("nan", d(float("nan"))), kv("inf", d(float("inf"))),
                            kv("-inf", d(float("-inf"))), kv("tiny", d(1e-7)), kv("neg.zero", d(-0.0))])

    rs2 = req.resource_spans.add()  # no resource message at all
    ss3 = rs2.scope_spans.add()
    ss3.scope.name = "bare"
    span = ss3.spans.add()
    span.name = ""
    span.kind = 9  # not a known SpanKind: proto3 enums are open
    span.status.code = 7
    return req


def logs_request():
    req = logs_service_pb2.ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.schema_url = "https://opentelemetry.io/schemas/1.21.0"
    rl.resource.attributes.extend([kv("service.name", s("checkout")), kv("k8s.pod.name", s("checkout-7d9f"))])
    sl = rl.scope_logs.add()
    sl.scope.name = "app.logger"
    sl.scope.version = "2.0"
    sl.schema_url = "https://scope"

    rec = sl.log_records.add()
    rec.time_unix_nano = T0
    rec.observed_time_unix_nano = T0 + 500
    rec.severity_number = logs_pb2.SEVERITY_NUMBER_WARN
    rec.severity_text = "WARN"
    rec.body.CopyFrom(s("disk 91% full"))
    rec.attributes.extend([kv("disk.used", d(0.91)), kv("disk.path", s("/var"))])
    rec.flags = 1
    rec.trace_id = bytes.fromhex("5b8efff798038103d269b633813fc60c")
    rec.span_id = bytes.fromhex("eee19b7ec3c1b174")
    rec.event_name = "disk.usage"
    rec.dropped_attributes_count = 3

    rec = sl.log_records.add()
    rec.time_unix_nano = T0 + 1
    rec.severity_number = logs_pb2.SEVERITY_NUMBER_INFO
    rec.body.CopyFrom(kvl(("msg", s("structured")), ("code", i(7)), ("ok", b(True)), ("list", arr(s("x"), d(1.0)))))

    rec = sl.log_records.add()
    rec.observed_time_unix_nano = T0 + 2
    rec.severity_number = logs_pb2.SEVERITY_NUMBER_FATAL4
    rec.severity_text = TRICKY
    rec.body.CopyFrom(arr(i(1), i(2), s("three")))

    rec = sl.log_records.add()
    rec.time_unix_nano = T0 + 3
    rec.body.CopyFrom(raw(bytes(range(0, 256, 51))))

    rec = sl.log_records.add()  # no body at all
    rec.time_unix_nano = T0 + 4
    rec.severity_number = logs_pb2.SEVERITY_NUMBER_DEBUG

    rl2 = req.resource_logs.add()
    rl2.resource.attributes.append(kv("host.name", s("node-1")))  # no service.name
    sl2 = rl2.scope_logs.add()
    rec = sl2.log_records.add()
    rec.severity_number = 30  # unknown severity
    rec.body.CopyFrom(i(0))
    return req


def metrics_request():
    """2 resources, 3 scopes, 7 metrics (one of each kind, an empty one, a second gauge), 11 data
    points: int and double gauges, a monotonic cumulative sum, a delta histogram with sum, min
    and max present (min 0.0: present though zero) and one without them, an exponential
    histogram, a summary; exemplars with ids; attributes of every type."""
    req = metrics_service_pb2.ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.schema_url = "https://opentelemetry.io/schemas/1.21.0"
    rm.resource.attributes.append(kv("service.name", s("checkout")))
    rm.resource.attributes.append(kv("host.cpus", i(8)))
    sm = rm.scope_metrics.add()
    sm.scope.name = "io.opentelemetry.runtime"
    sm.scope.version = "1.2.3"
    g = sm.metrics.add()
    g.name = "process.memory.usage"
    g.description = "RSS " + TRICKY
    g.unit = "By"
    p = g.gauge.data_points.add()
    p.time_unix_nano = T0 + 5
    p.as_int = -9007199254740993
    p.attributes.append(kv("state", s("used")))
    p = g.gauge.data_points.add()
    p.time_unix_nano = T0 + 6
    p.as_int = 0
    sm2 = rm.scope_metrics.add()
    sm2.scope.name = "checkout.http"
    c = sm2.metrics.add()
    c.name = "http.server.requests"
    c.unit = "{request}"
    c.sum.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
    c.sum.is_monotonic = True
    for n, code in enumerate([200, 500]):
        p = c.sum.data_points.add()
        p.start_time_unix_nano = T0
        p.time_unix_nano = T0 + 1_000_000_000
        p.as_double = 12.5 * (n + 1)
        p.attributes.append(kv("http.response.status_code", i(code)))
        p.attributes.append(kv("ok", b(code < 500)))
        p.flags = n
    h = sm2.metrics.add()
    h.name = "http.server.duration"
    h.unit = "ms"
    h.histogram.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
    p = h.histogram.data_points.add()
    p.start_time_unix_nano = T0
    p.time_unix_nano = T0 + 2_000_000_000
    p.count = 6
    p.sum = 1234.5
    p.min = 0.0
    p.max = 900.25
    p.explicit_bounds.extend([5.0, 50.0, 500.0])
    p.bucket_counts.extend([1, 2, 0, 3])
    p.attributes.append(kv("route", s("/pay")))
    e = p.exemplars.add()
    e.time_unix_nano = T0 + 7
    e.as_double = 900.25
    e.trace_id = bytes(range(1, 17))
    e.span_id = bytes(range(1, 9))
    e.filtered_attributes.append(kv("user", s("u1")))
    p = h.histogram.data_points.add()
    p.time_unix_nano = T0 + 3_000_000_000
    p.count = 0
    p.bucket_counts.extend([0])
    x = sm2.metrics.add()
    x.name = "rpc.latency"
    x.exponential_histogram.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
    p = x.exponential_histogram.data_points.add()
    p.time_unix_nano = T0 + 4
    p.count = 10
    p.sum = 55.0
    p.scale = -2
    p.zero_count = 1
    p.zero_threshold = 1e-9
    p.positive.offset = -3
    p.positive.bucket_counts.extend([4, 0, 5])
    p.negative.bucket_counts.extend([0])
    sm2.metrics.add().name = "empty.metric"
    rm2 = req.resource_metrics.add()
    sm3 = rm2.scope_metrics.add()
    q = sm3.metrics.add()
    q.name = "gc.pause"
    q.unit = "s"
    p = q.summary.data_points.add()
    p.time_unix_nano = T0 + 8
    p.count = 3
    p.sum = 0.75
    for quantile, value in [(0.0, 0.1), (0.5, 0.25), (1.0, 0.4)]:
        v = p.quantile_values.add()
        v.quantile = quantile
        v.value = value
    p.attributes.append(kv("gc", arr(s("young"), i(1))))
    g2 = sm3.metrics.add()
    g2.name = "queue.depth"
    for v in [1.5, float("inf"), -0.0]:
        p = g2.gauge.data_points.add()
        p.as_double = v
    return req


def split_request():
    """4 resources: r0 has 2 scopes of 5 spans, r1 has 2 scopes of 5 spans and an empty third
    scope, r2 has 2 scopes of 5 spans, r3 has no scopes. 30 spans in all."""
    req = trace_service_pb2.ExportTraceServiceRequest()
    for r in range(4):
        rs = req.resource_spans.add()
        rs.schema_url = f"https://r{r}"
        rs.resource.attributes.append(kv("service.name", s(f"svc{r}")))
        if r == 3:
            continue
        for sc in range(3 if r == 1 else 2):
            ss = rs.scope_spans.add()
            ss.scope.name = f"scope{sc}"
            ss.schema_url = f"https://r{r}/s{sc}"
            if sc == 2:
                continue
            for n in range(5):
                span = ss.spans.add()
                span.name = f"r{r}.s{sc}.span{n}"
                span.trace_id = bytes([r + 1] * 16)
                span.span_id = bytes([sc + 1] * 7 + [n + 1])
                span.attributes.append(kv("n", i(n)))
    return req


def responses():
    t = trace_service_pb2.ExportTraceServiceResponse()
    t.partial_success.rejected_spans = 3
    t.partial_success.error_message = "3 spans rejected"
    lg = logs_service_pb2.ExportLogsServiceResponse()
    lg.partial_success.rejected_log_records = 3
    lg.partial_success.error_message = "3 log records rejected"
    m = metrics_service_pb2.ExportMetricsServiceResponse()
    m.partial_success.rejected_data_points = 3
    m.partial_success.error_message = "3 data points rejected"
    return t, lg, m


# ------------------------------------------------------------------------------------------
# JSON


def rewrite_ids(node, convert):
    """Applies convert to every non-empty string under an id key, recursively."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ID_KEYS and isinstance(value, str) and value:
                node[key] = convert(value)
            else:
                rewrite_ids(value, convert)
    elif isinstance(node, list):
        for item in node:
            rewrite_ids(item, convert)


def otlp_json(message):
    tree = json_format.MessageToDict(message, use_integers_for_enums=True)
    rewrite_ids(tree, lambda v: base64.b64decode(v).hex())
    return json.dumps(tree, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_otlp_json(text, message):
    tree = json.loads(text)
    rewrite_ids(tree, lambda v: base64.b64encode(bytes.fromhex(v)).decode())
    json_format.ParseDict(tree, message, ignore_unknown_fields=True)
    return message


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    print(f"wrote {name} ({len(data)} bytes)")


def main():
    traces = traces_request()
    logs = logs_request()
    write("traces.pb", traces.SerializeToString())
    write("traces.json", otlp_json(traces))
    write("logs.pb", logs.SerializeToString())
    write("logs.json", otlp_json(logs))
    with open(os.path.join(HERE, "traces_input.json"), "rb") as f:
        parsed = parse_otlp_json(f.read(), trace_service_pb2.ExportTraceServiceRequest())
    write("traces_input.pb", parsed.SerializeToString())
    with open(os.path.join(HERE, "logs_input.json"), "rb") as f:
        parsed = parse_otlp_json(f.read(), logs_service_pb2.ExportLogsServiceRequest())
    write("logs_input.pb", parsed.SerializeToString())
    metrics = metrics_request()
    write("metrics.pb", metrics.SerializeToString())
    write("metrics.json", otlp_json(metrics))
    write("split.pb", split_request().SerializeToString())
    t, lg, m = responses()
    write("traces_response.pb", t.SerializeToString())
    write("logs_response.pb", lg.SerializeToString())
    write("metrics_response.pb", m.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main())
