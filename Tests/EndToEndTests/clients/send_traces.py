#!/usr/bin/env python3
"""Send traces to an OTLP endpoint with the official OpenTelemetry Python SDK.

Prints ONE JSON document on stdout describing exactly what was exported (see _clientlib.py for
the value encoding). Exit status: 0 when every export succeeded, 1 when an export failed (the
message is on stderr and in the JSON's "errors"/"exports"), 2 for bad arguments.

Each iteration (--count) emits one trace of four spans:

    GET /api/checkout      SERVER   root, status OK, attributes of every type, a link to a
    |                               remote span in another trace
    +- validate-cart       INTERNAL two events (one with attributes)
    |  +- SELECT carts     CLIENT   grandchild, status ERROR with a description
    +- POST /payments      CLIENT   a link to its sibling validate-cart

Ids are deterministic for a given --seed (see _clientlib.make_id_generator); timestamps are real.

By default spans go through a SimpleSpanProcessor (one export request per span, sent when the
span ends). With --batches they go through a BatchSpanProcessor and leave at force_flush in
requests of up to --batch-size spans.

The SDK retries retryable failures (gRPC UNAVAILABLE etc., HTTP 429/502/503/504) with
exponential backoff (1 s, 2 s, 4 s, ... with jitter, or the server's Retry-After / RetryInfo),
for at most --timeout seconds per export request. After one request fails, the remaining ones
are not sent, so a dead endpoint costs about one --timeout.

Examples:
    send_traces.py --endpoint http://127.0.0.1:4317 --protocol grpc
    send_traces.py --endpoint http://127.0.0.1:4318 --protocol http --count 3 --batches
"""

from __future__ import annotations

import argparse
import sys
import time

sys.dont_write_bytecode = True  # keep the Swift test target's folder free of __pycache__

import _clientlib as lib  # noqa: E402

LARGE_INT64 = 9007199254740993  # 2**53 + 1: not representable as a double


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", required=True, help="gRPC: http://HOST:PORT; HTTP: base URL http://HOST:PORT "
                   "(/v1/traces is appended unless the URL has a path)")
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--service", default="e2e-traces", help="resource service.name (default %(default)s)")
    p.add_argument("--count", type=int, default=1, help="number of traces (4 spans each, default 1)")
    p.add_argument("--batches", action="store_true",
                   help="BatchSpanProcessor (requests of up to --batch-size spans) instead of SimpleSpanProcessor")
    p.add_argument("--batch-size", type=int, default=512, help="max spans per request with --batches")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds per export request, retries included (default %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="id seed, 1..16777215 (default %(default)s)")
    p.add_argument("--compression", choices=["none", "gzip"], default="none")
    p.add_argument("--interval", type=float, default=0.0, help="seconds to wait between traces (default none)")
    p.add_argument("--ca-file", help="TLS: trust this CA (PEM); the endpoint must be https://")
    p.add_argument("--client-cert", help="TLS: client certificate (PEM), with --client-key")
    p.add_argument("--client-key", help="TLS: the client certificate's key (PEM)")
    p.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                   help="request header / gRPC metadata, e.g. authorization=Bearer x (repeatable)")
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
    if (args.client_cert is None) != (args.client_key is None):
        p.error("--client-cert and --client-key go together")
    if any("=" not in h for h in args.header):
        p.error("--header takes NAME=VALUE")
    return args


def build_exporter(args: argparse.Namespace):
    headers = dict(h.split("=", 1) for h in args.header) or None
    if args.protocol == "grpc":
        import grpc
        from grpc import Compression

        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        endpoint = lib.grpc_endpoint(args.endpoint)
        credentials = None
        if endpoint.startswith("https://"):
            def read(path):
                with open(path, "rb") as f:
                    return f.read()
            credentials = grpc.ssl_channel_credentials(
                root_certificates=read(args.ca_file) if args.ca_file else None,
                private_key=read(args.client_key) if args.client_key else None,
                certificate_chain=read(args.client_cert) if args.client_cert else None,
            )
        return endpoint, OTLPSpanExporter(
            endpoint=endpoint,
            insecure=credentials is None,
            credentials=credentials,
            headers=headers,
            timeout=args.timeout,
            compression=Compression.Gzip if args.compression == "gzip" else Compression.NoCompression,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = lib.http_signal_url(args.endpoint, "traces")
    return endpoint, OTLPSpanExporter(
        endpoint=endpoint,
        certificate_file=args.ca_file,
        client_certificate_file=args.client_cert,
        client_key_file=args.client_key,
        headers=headers,
        timeout=args.timeout,
        compression=Compression.Gzip if args.compression == "gzip" else Compression.NoCompression,
    )


def emit_trace(tracer, i: int, seed: int) -> None:
    from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

    # A span in another trace that "caused" this request (e.g. a queued message).
    remote = SpanContext(
        trace_id=(seed << 64) | (0xFFFF << 16) | i,  # leading zero bytes on purpose
        span_id=0x00000000DEAD0000 | i,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    root_attrs = {
        "http.request.method": "GET",
        "url.path": "/api/checkout",
        "http.response.status_code": 200,
        "e2e.iteration": i,
        "e2e.str": "hello",
        "e2e.str.empty": "",
        "e2e.str.unicode": "h\u00e9llo w\u00f6rld \u2713",
        "e2e.bool": True,
        "e2e.int": 42,
        "e2e.int.negative": -7,
        "e2e.int64.large": LARGE_INT64,
        "e2e.double": 3.25,
        "e2e.double.negative": -0.5,
        "e2e.str.array": ["a", "b", "c"],
        "e2e.bool.array": [True, False, True],
        "e2e.int.array": [1, -2, LARGE_INT64],
        "e2e.double.array": [0.5, 1.25, -2.0],
    }
    with tracer.start_as_current_span(
        "GET /api/checkout",
        kind=SpanKind.SERVER,
        attributes=root_attrs,
        links=[Link(remote, {"link.reason": "triggered-by", "messaging.message.id": f"msg-{i}"})],
    ) as root:
        with tracer.start_as_current_span("validate-cart", kind=SpanKind.INTERNAL,
                                          attributes={"cart.items": 3, "cart.total": 59.9}) as validate:
            validate.add_event("cache.miss", {"cache.key": f"cart:{i}", "cache.size": 128, "cache.hit_ratio": 0.75,
                                              "cache.warm": False, "cache.tags": ["cart", "session"]})
            with tracer.start_as_current_span(
                "SELECT carts",
                kind=SpanKind.CLIENT,
                attributes={
                    "db.system.name": "postgresql",
                    "db.query.text": "SELECT * FROM carts WHERE id = $1",
                    "server.address": "db.internal",
                    "server.port": 5432,
                },
            ) as db:
                time.sleep(0.001)
                db.add_event("db.retry", {"attempt": 1})
                db.set_status(Status(StatusCode.ERROR, "connection reset by peer"))
            validate.add_event("validated")
        validate_ctx = validate.get_span_context()
        with tracer.start_as_current_span(
            "POST /payments",
            kind=SpanKind.CLIENT,
            attributes={"http.request.method": "POST", "url.full": "http://payments.internal/payments",
                        "http.response.status_code": 201},
            links=[Link(validate_ctx, {"link.reason": "follows"})],
        ):
            time.sleep(0.001)
        root.set_status(Status(StatusCode.OK))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    lib.setup_logging(args.verbose)

    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    endpoint, otlp = build_exporter(args)
    report = lib.Report("traces", args.protocol, endpoint)
    exporter = lib.make_recording_exporter(
        SpanExporter, otlp, encode_spans, report.add_trace_request,
        SpanExportResult.SUCCESS, SpanExportResult.FAILURE,
    )
    total = args.count * 4
    if args.batches:
        processor = BatchSpanProcessor(
            exporter,
            max_queue_size=max(2048, total + 1),  # never drop
            schedule_delay_millis=3_600_000,  # only full batches and force_flush export
            max_export_batch_size=args.batch_size,
        )
    else:
        processor = SimpleSpanProcessor(exporter)

    resource = Resource.create({
        "service.name": args.service,
        "service.version": "1.2.3",
        "service.instance.id": f"e2e-{args.seed}",
        "deployment.environment.name": "e2e",
        "e2e.resource.int": 7,
        "e2e.resource.bool": True,
    })
    provider = TracerProvider(resource=resource, id_generator=lib.make_id_generator(args.seed),
                              shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("e2e.send_traces", "0.1.0", schema_url="https://opentelemetry.io/schemas/1.26.0")

    started = time.monotonic()
    for i in range(args.count):
        emit_trace(tracer, i, args.seed)
        if exporter.failed and not args.batches:
            report.errors.append(f"stopped after trace {i + 1} of {args.count}: an export failed")
            break
        if args.interval > 0:
            time.sleep(args.interval)
    if not provider.force_flush(timeout_millis=int(args.timeout * 1000 * 2) + 1000):
        report.errors.append("force_flush did not complete")
    provider.shutdown()

    exported = sum(e["items"] for e in report.exports if e["result"] == "SUCCESS")
    if report.ok() and exported != total:
        report.errors.append(f"{exported} spans exported, {total} created")
    doc = report.render({"service": args.service, "seed": args.seed, "batches": args.batches,
                         "seconds": round(time.monotonic() - started, 3)})
    lib.emit(doc)
    if not doc["ok"]:
        print(f"send_traces: export to {endpoint} ({args.protocol}) failed: {lib.fail_message(doc)}",
              file=sys.stderr)
        return lib.EXIT_EXPORT_FAILED
    return lib.EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
