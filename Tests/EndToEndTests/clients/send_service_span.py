#!/usr/bin/env python3
"""One service's part of a distributed trace, sent with the official OpenTelemetry Python SDK.

Creates one SERVER span named --name for service --service, as a child of --traceparent (a W3C
traceparent header value, as the caller would have received it), or as a new root without it;
emits --log messages as log records inside that span (so they carry its trace context); marks
the span as an error with --error MESSAGE. Exports both over OTLP/gRPC, then prints one JSON
line: {"traceId", "spanId", "traceparent" (for the next service), "ok"}. Exit 0 only when both
exports succeeded.

Used to build a trace across several processes, as real services do:
    a=$(send_service_span.py --endpoint E --service frontend --name "GET /checkout")
    b=$(send_service_span.py --endpoint E --service checkout --name "POST /orders" --traceparent <a's>)
"""
from __future__ import annotations

import argparse
import json
import sys
import time

sys.dont_write_bytecode = True

from _clientlib import Recording  # noqa: E402

from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter  # noqa: E402
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider  # noqa: E402
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult  # noqa: E402
from opentelemetry.trace import SpanKind, Status, StatusCode  # noqa: E402
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator  # noqa: E402
from opentelemetry._logs import SeverityNumber  # noqa: E402



def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", required=True, help="http://HOST:PORT of the OTLP/gRPC receiver")
    p.add_argument("--service", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--traceparent", help="W3C traceparent of the calling span")
    p.add_argument("--log", action="append", default=[], help="a log message to emit inside the span")
    p.add_argument("--error", help="mark the span as an error with this description")
    p.add_argument("--millis", type=int, default=20, help="how long the span lasts")
    args = p.parse_args()

    resource = Resource.create({"service.name": args.service})
    spans = Recording(OTLPSpanExporter(endpoint=args.endpoint, insecure=True, timeout=10), SpanExportResult.SUCCESS)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    from opentelemetry.sdk._logs.export import LogRecordExportResult  # noqa: E402
    logs = Recording(OTLPLogExporter(endpoint=args.endpoint, insecure=True, timeout=10), LogRecordExportResult.SUCCESS)
    log_provider = LoggerProvider(resource=resource)
    log_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    logger = log_provider.get_logger("e2e.service")

    parent = TraceContextTextMapPropagator().extract({"traceparent": args.traceparent}) if args.traceparent else None
    tracer = provider.get_tracer("e2e.service", "1.0.0")
    with tracer.start_as_current_span(args.name, context=parent, kind=SpanKind.SERVER,
                                      attributes={"peer.service": args.service}) as span:
        for message in args.log:
            logger.emit(body=message, severity_number=SeverityNumber.INFO, severity_text="INFO",
                        attributes={"component": args.service})
        time.sleep(args.millis / 1000)
        if args.error:
            span.set_status(Status(StatusCode.ERROR, args.error))
        ctx = span.get_span_context()
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
    provider.shutdown()
    log_provider.shutdown()
    ok = spans.ok and logs.ok
    print(json.dumps({"traceId": format(ctx.trace_id, "032x"), "spanId": format(ctx.span_id, "016x"),
                      "traceparent": carrier.get("traceparent", ""), "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
