#!/usr/bin/env python3
"""Send metrics to an OTLP endpoint with the official OpenTelemetry Python SDK.

Prints ONE JSON document on stdout:

    {"ok": bool, "protocol": ..., "endpoint": ..., "errors": [...], "exports": N,
     "points": [canonical point JSON, ...]}

"points" are the data points of every request the SDK's exporter sent successfully, as the
SDK encoded them, flattened by _clientlib.flatten_metrics (so a receiver's copy can be compared
exactly). Exit status: 0 when every export succeeded, 1 when one failed, 2 for bad arguments.

Two collections (force_flush, then shutdown) of the same five data points, cumulative:
    counter        e2e.orders {order}     region=eu: 3 + 5, region=us: 4     (2 points, int sum)
    histogram      e2e.latency ms         5, 50, 500, 7 on route=/pay         (1 point)
    up-down        e2e.queue {item}       +10, -3                             (1 point, non-monotonic)
    gauge          e2e.temperature Cel    21.5 on room=a (observable)         (1 point)

    send_metrics.py --endpoint http://127.0.0.1:4317 --protocol grpc
    send_metrics.py --endpoint http://127.0.0.1:4318 --protocol http
"""

from __future__ import annotations

import argparse
import sys

sys.dont_write_bytecode = True  # keep the Swift test target's folder free of __pycache__

import _clientlib as lib  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--service", default="e2e-metrics")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def build_exporter(args: argparse.Namespace):
    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        endpoint = lib.grpc_endpoint(args.endpoint)
        return endpoint, OTLPMetricExporter(endpoint=endpoint, insecure=True, timeout=args.timeout)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    endpoint = lib.http_signal_url(args.endpoint, "metrics")
    return endpoint, OTLPMetricExporter(endpoint=endpoint, timeout=args.timeout)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    lib.setup_logging(args.verbose)

    from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    endpoint, otlp = build_exporter(args)
    points: list[str] = []
    errors: list[str] = []
    exports = 0

    class Recording(type(otlp)):
        """The OTLP exporter, remembering what it sent (encoded as it encodes it)."""

        def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs):
            nonlocal exports
            result = super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)
            exports += 1
            if result == MetricExportResult.SUCCESS:
                points.extend(lib.flatten_metrics(encode_metrics(metrics_data)))
            else:
                errors.append(f"export {exports} failed")
            return result

    otlp.__class__ = Recording
    reader = PeriodicExportingMetricReader(otlp, export_interval_millis=3_600_000)
    resource = Resource.create({"service.name": args.service, "service.instance.id": "e2e"})
    provider = MeterProvider(resource=resource, metric_readers=[reader], shutdown_on_exit=False)
    meter = provider.get_meter("e2e.send_metrics", "0.1.0")
    orders = meter.create_counter("e2e.orders", unit="{order}", description="orders placed")
    orders.add(3, {"region": "eu"})
    orders.add(4, {"region": "us"})
    orders.add(5, {"region": "eu"})
    latency = meter.create_histogram("e2e.latency", unit="ms")
    for v in (5, 50, 500, 7):
        latency.record(v, {"route": "/pay"})
    queue = meter.create_up_down_counter("e2e.queue", unit="{item}")
    queue.add(10)
    queue.add(-3)

    def temperature(options: CallbackOptions):
        yield Observation(21.5, {"room": "a"})

    meter.create_observable_gauge("e2e.temperature", callbacks=[temperature], unit="Cel")
    if not provider.force_flush(timeout_millis=int(args.timeout * 1000) + 1000):
        errors.append("force_flush did not complete")
    provider.shutdown()
    ok = not errors and exports > 0
    lib.emit({"ok": ok, "protocol": args.protocol, "endpoint": endpoint, "errors": errors, "exports": exports,
              "points": points, "sdkLog": list(lib.SDK_LOG.messages)})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
