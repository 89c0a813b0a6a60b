#!/usr/bin/env python3
"""Send log records to an OTLP endpoint with the official OpenTelemetry Python SDK.

Prints ONE JSON document on stdout describing exactly what was exported (see _clientlib.py for
the value encoding). Exit status: 0 when every export succeeded, 1 when an export failed, 2 for
bad arguments.

Each iteration (--count) emits four log records through LoggerProvider +
BatchLogRecordProcessor + OTLPLogExporter:

    INFO   "user logged in"                inside span "handle-login"   str/int/double/bool/array
    WARN   "disk usage high"               inside span "handle-login"   int64 2**53+1, double, kvlist
    ERROR  "payment failed: card declined" inside span "handle-login"   bool false, double array
    DEBUG  "background tick"               outside any span             (no trace context)

The span is real (a TracerProvider with deterministic ids for --seed and no exporter), so the
first three records carry its trace_id/span_id and the sampled flag. All records leave in one
request at force_flush (up to --batch-size records per request).

The SDK retries retryable failures for at most --timeout seconds per export request.

Examples:
    send_logs.py --endpoint http://127.0.0.1:4317 --protocol grpc
    send_logs.py --endpoint http://127.0.0.1:4318 --protocol http
"""

from __future__ import annotations

import argparse
import sys
import time

sys.dont_write_bytecode = True  # keep the Swift test target's folder free of __pycache__

import _clientlib as lib  # noqa: E402

LARGE_INT64 = 9007199254740993


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", required=True, help="gRPC: http://HOST:PORT; HTTP: base URL http://HOST:PORT "
                   "(/v1/logs is appended unless the URL has a path)")
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--service", default="e2e-logs", help="resource service.name (default %(default)s)")
    p.add_argument("--count", type=int, default=1, help="iterations of 4 records each (default 1)")
    p.add_argument("--batch-size", type=int, default=512, help="max records per request")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds per export request, retries included (default %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="id seed, 1..16777215 (default %(default)s)")
    p.add_argument("--compression", choices=["none", "gzip"], default="none")
    p.add_argument("--verbose", action="store_true", help="SDK debug logging on stderr")
    args = p.parse_args(argv)
    if args.count < 1:
        p.error("--count must be >= 1")
    if args.batch_size < 1:
        p.error("--batch-size must be >= 1")
    if not 1 <= args.seed <= 0xFFFFFF:
        p.error("--seed must be in 1..16777215")
    if args.timeout <= 0:
        p.error("--timeout must be > 0")
    return args


def build_exporter(args: argparse.Namespace):
    if args.protocol == "grpc":
        from grpc import Compression

        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        endpoint = lib.grpc_endpoint(args.endpoint)
        return endpoint, OTLPLogExporter(
            endpoint=endpoint,
            insecure=True,
            timeout=args.timeout,
            compression=Compression.Gzip if args.compression == "gzip" else Compression.NoCompression,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

    endpoint = lib.http_signal_url(args.endpoint, "logs")
    return endpoint, OTLPLogExporter(
        endpoint=endpoint,
        timeout=args.timeout,
        compression=Compression.Gzip if args.compression == "gzip" else Compression.NoCompression,
    )


def emit_logs(logger, tracer, i: int) -> None:
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.trace import SpanKind

    with tracer.start_as_current_span("handle-login", kind=SpanKind.SERVER):
        # No explicit context: the SDK takes trace_id/span_id/flags from the active span.
        logger.emit(
            timestamp=time.time_ns(),
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body="user logged in",
            attributes={
                "user.id": f"u-{i}",
                "login.attempts": 3,
                "session.ttl_seconds": 3600.5,
                "mfa": True,
                "roles": ["admin", "dev"],
                "e2e.iteration": i,
            },
        )
        logger.emit(
            timestamp=time.time_ns(),
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            body="disk usage high",
            attributes={
                "disk.used_ratio": 0.93,
                "disk.free_bytes": LARGE_INT64,
                "mount": "/var",
                "disk.labels": {"tier": "ssd", "replicas": 2},
            },
        )
        logger.emit(
            timestamp=time.time_ns(),
            severity_number=SeverityNumber.ERROR,
            severity_text="ERROR",
            body="payment failed: card declined",
            attributes={
                "error.type": "CardDeclined",
                "retryable": False,
                "amounts": [1.5, 2.25],
                "exit.code": -1,
            },
        )
    logger.emit(
        timestamp=time.time_ns(),
        severity_number=SeverityNumber.DEBUG,
        severity_text="DEBUG",
        body="background tick",
        attributes={"tick": i},
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    lib.setup_logging(args.verbose)

    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import (
        BatchLogRecordProcessor,
        LogRecordExporter,
        LogRecordExportResult,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    endpoint, otlp = build_exporter(args)
    report = lib.Report("logs", args.protocol, endpoint)
    exporter = lib.make_recording_exporter(
        LogRecordExporter, otlp, encode_logs, report.add_logs_request,
        LogRecordExportResult.SUCCESS, LogRecordExportResult.FAILURE,
    )
    total = args.count * 4
    processor = BatchLogRecordProcessor(
        exporter,
        schedule_delay_millis=3_600_000,  # only full batches and force_flush export
        max_export_batch_size=args.batch_size,
        max_queue_size=max(2048, total + 1),  # never drop
    )
    resource = Resource.create({
        "service.name": args.service,
        "service.version": "1.2.3",
        "service.instance.id": f"e2e-{args.seed}",
        "deployment.environment.name": "e2e",
        "e2e.resource.int": 7,
    })
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    logger_provider.add_log_record_processor(processor)
    logger = logger_provider.get_logger("e2e.send_logs", "0.1.0", schema_url="https://opentelemetry.io/schemas/1.26.0")
    tracer_provider = TracerProvider(resource=resource, id_generator=lib.make_id_generator(args.seed),
                                     shutdown_on_exit=False)
    tracer = tracer_provider.get_tracer("e2e.send_logs", "0.1.0")

    started = time.monotonic()
    for i in range(args.count):
        emit_logs(logger, tracer, i)
    if not logger_provider.force_flush(timeout_millis=int(args.timeout * 1000 * 2) + 1000):
        report.errors.append("force_flush did not complete")
    logger_provider.shutdown()
    tracer_provider.shutdown()

    exported = sum(e["items"] for e in report.exports if e["result"] == "SUCCESS")
    if report.ok() and exported != total:
        report.errors.append(f"{exported} log records exported, {total} emitted")
    doc = report.render({"service": args.service, "seed": args.seed,
                         "seconds": round(time.monotonic() - started, 3)})
    lib.emit(doc)
    if not doc["ok"]:
        print(f"send_logs: export to {endpoint} ({args.protocol}) failed: {lib.fail_message(doc)}",
              file=sys.stderr)
        return lib.EXIT_EXPORT_FAILED
    return lib.EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
