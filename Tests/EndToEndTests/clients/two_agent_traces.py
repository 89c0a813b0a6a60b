#!/usr/bin/env python3
"""Traces whose spans leave through two agents, with the official OpenTelemetry Python SDK: two
TracerProviders in one process, one exporting OTLP/gRPC to agent A, the other OTLP/HTTP to
agent B. Each trace is a root span (provider A), a child (provider B, same trace through the
context) and a grandchild (provider A): a gateway tier sees the trace whole only if both agents
route it to the same gateway.

    two_agent_traces.py --grpc http://127.0.0.1:A --http http://127.0.0.1:B --count 2000
                        [--interval 0.0] [--seed 1] [--timeout 30]

Prints ONE JSON document on stdout: {"traces": N, "spans": [{"traceId", "spanId", "agent":
"A"|"B", "acked": bool}, ...], "errors": [...]} where "acked" says whether the export request
carrying the span succeeded (the SDK retried it for up to --timeout seconds).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator


class Recording(SpanExporter):
    """Forwards to the real exporter and records each span's outcome."""

    def __init__(self, inner: SpanExporter, agent: str, record: list, lock: threading.Lock) -> None:
        self.inner, self.agent, self.record, self.lock = inner, agent, record, lock

    def export(self, spans):
        result = self.inner.export(spans)
        with self.lock:
            for s in spans:
                ctx = s.get_span_context()
                self.record.append({"traceId": format(ctx.trace_id, "032x"), "spanId": format(ctx.span_id, "016x"),
                                    "agent": self.agent, "acked": result == SpanExportResult.SUCCESS})
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class SeededIds(IdGenerator):
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def generate_span_id(self) -> int:
        with self.lock:
            return self.rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        with self.lock:
            return self.rng.getrandbits(128) or 1


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--grpc", required=True)
    p.add_argument("--http", required=True)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--interval", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()
    record: list = []
    lock = threading.Lock()
    ids = SeededIds(args.seed)
    providers = []
    for agent, exporter in (("A", GRPCExporter(endpoint=args.grpc, insecure=True, timeout=args.timeout)),
                            ("B", HTTPExporter(endpoint=args.http.rstrip("/") + "/v1/traces", timeout=args.timeout))):
        provider = TracerProvider(resource=Resource.create({"service.name": f"service-{agent.lower()}"}), id_generator=ids)
        provider.add_span_processor(BatchSpanProcessor(Recording(exporter, agent, record, lock), max_export_batch_size=256, max_queue_size=1_000_000,
                                                       schedule_delay_millis=50, export_timeout_millis=int(args.timeout * 1000)))
        providers.append(provider)
    a, b = (prov.get_tracer("two-agents") for prov in providers)
    for i in range(args.count):
        with a.start_as_current_span(f"GET /orders/{i}", kind=trace.SpanKind.SERVER) as root:
            context = trace.set_span_in_context(root)
            with b.start_as_current_span("reserve", context=context, kind=trace.SpanKind.SERVER) as child:
                with a.start_as_current_span("SELECT stock", context=trace.set_span_in_context(child), kind=trace.SpanKind.CLIENT):
                    pass
        if args.interval:
            time.sleep(args.interval)
    for prov in providers:
        prov.force_flush(int(args.timeout * 1000) + 5000)
        prov.shutdown()
    json.dump({"traces": args.count, "spans": record, "errors": []}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
