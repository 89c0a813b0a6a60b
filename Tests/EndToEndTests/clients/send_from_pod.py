#!/usr/bin/env python3
"""A pod's telemetry, sent with the official OpenTelemetry Python SDK from a chosen address.

Sends one SERVER span named --name and, with --log, one log record inside it, for service
--service with the extra resource attributes --resource KEY=VALUE (repeatable). Over OTLP/HTTP
the connection is made from --source-ip (a loopback alias such as 127.0.0.7 stands for a pod's
IP: the collector sees it as the peer address); over OTLP/gRPC the source is the default one.
Prints one JSON line {"traceId", "ok"}; exit 0 only when every export succeeded.
"""
from __future__ import annotations

import argparse
import json
import sys

sys.dont_write_bytecode = True

from _clientlib import Recording  # noqa: E402

import requests  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402
from opentelemetry._logs import SeverityNumber  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider  # noqa: E402
from opentelemetry.sdk._logs.export import LogRecordExportResult, SimpleLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402


class SourceAddressAdapter(HTTPAdapter):
    """Connections bound to one local address before they connect."""

    def __init__(self, source_ip: str):
        self.source_ip = source_ip
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source_ip, 0)
        super().init_poolmanager(*args, **kwargs)



def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--endpoint", required=True, help="http://HOST:PORT (OTLP/HTTP base URL or OTLP/gRPC target)")
    p.add_argument("--protocol", choices=["http", "grpc"], default="http")
    p.add_argument("--source-ip", help="local address to send from (HTTP only)")
    p.add_argument("--service", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--resource", action="append", default=[], help="KEY=VALUE resource attribute")
    p.add_argument("--log", help="a log message to emit inside the span")
    args = p.parse_args()

    attrs = {"service.name": args.service}
    for item in args.resource:
        key, _, value = item.partition("=")
        attrs[key] = value
    resource = Resource.create(attrs)
    if args.protocol == "http":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        session = requests.Session()
        session.trust_env = False  # no proxy or CA bundle from the environment
        if args.source_ip:
            session.mount("http://", SourceAddressAdapter(args.source_ip))
        span_exporter = OTLPSpanExporter(endpoint=args.endpoint + "/v1/traces", session=session, timeout=10)
        log_exporter = OTLPLogExporter(endpoint=args.endpoint + "/v1/logs", session=session, timeout=10)
    else:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        span_exporter = OTLPSpanExporter(endpoint=args.endpoint, insecure=True, timeout=10)
        log_exporter = OTLPLogExporter(endpoint=args.endpoint, insecure=True, timeout=10)

    spans = Recording(span_exporter, SpanExportResult.SUCCESS)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    logs = Recording(log_exporter, LogRecordExportResult.SUCCESS)
    log_provider = LoggerProvider(resource=resource)
    log_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    logger = log_provider.get_logger("e2e.pod")

    with provider.get_tracer("e2e.pod").start_as_current_span(args.name, kind=SpanKind.SERVER) as span:
        if args.log:
            logger.emit(body=args.log, severity_number=SeverityNumber.INFO, severity_text="INFO")
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    log_provider.shutdown()
    ok = spans.ok and logs.ok
    print(json.dumps({"traceId": trace_id, "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
