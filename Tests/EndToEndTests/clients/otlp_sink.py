#!/usr/bin/env python3
"""An OTLP server that is not collectord, for the exporters' interop tests: it decodes what it
receives with the official opentelemetry-proto classes (Python protobuf) and, when it gets
SIGTERM or --seconds pass, prints ONE JSON document on stdout:

    {"requests": N, "spans": [{"traceId": hex, "spanId": hex, "name": ...}, ...],
     "logs": [{"traceId": hex, "body": ...}, ...], "metrics": [point, ...],
     "encodings": ["gzip", ...],
     "contentTypes": [...], "paths": [...], "headers": [{...}, ...]}

    otlp_sink.py --http-port P [--grpc-port Q] [--seconds 60] [--fail-first N]

--http-port serves OTLP/HTTP (protobuf or JSON bodies, gzip) on /v1/traces, /v1/logs and
/v1/metrics; --grpc-port serves the OTLP gRPC TraceService/LogsService/MetricsService with
grpcio. Metric data points are listed as _clientlib.flatten_metrics writes them. --fail-first N answers
the first N requests 503 (HTTP) / UNAVAILABLE (gRPC), for retry tests. It prints "listening" on
stderr once both are up.
"""

from __future__ import annotations

import argparse
import gzip
import json
import signal
import sys
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True  # keep the Swift test target's folder free of __pycache__
import _clientlib as lib  # noqa: E402

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

lock = threading.Lock()
state = {"requests": 0, "spans": [], "logs": [], "metrics": [], "encodings": [], "contentTypes": [], "paths": [], "headers": []}
fail_first = 0


def should_fail() -> bool:
    with lock:
        state["requests"] += 1
        return state["requests"] <= fail_first


def record(request, path: str, encoding: str, content_type: str, headers: dict) -> None:
    with lock:
        state["encodings"].append(encoding)
        state["contentTypes"].append(content_type)
        state["paths"].append(path)
        state["headers"].append(headers)
        if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        state["spans"].append({"traceId": span.trace_id.hex(), "spanId": span.span_id.hex(), "name": span.name})
        elif isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
            state["metrics"].extend(lib.flatten_metrics(request))
        else:
            for rl in request.resource_logs:
                for sl in rl.scope_logs:
                    for log in sl.log_records:
                        state["logs"].append({"traceId": log.trace_id.hex(), "body": log.body.string_value})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if should_fail():
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        cls = {"/v1/traces": trace_service_pb2.ExportTraceServiceRequest,
               "/v1/logs": logs_service_pb2.ExportLogsServiceRequest,
               "/v1/metrics": metrics_service_pb2.ExportMetricsServiceRequest}.get(self.path)
        if cls is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        content_type = self.headers.get("Content-Type", "")
        request = cls()
        if content_type == "application/json":
            json_format.Parse(body, request)
        else:
            request.ParseFromString(body)
        record(request, self.path, encoding, content_type, {k.lower(): v for k, v in self.headers.items()})
        answer = {"/v1/traces": trace_service_pb2.ExportTraceServiceResponse,
                  "/v1/logs": logs_service_pb2.ExportLogsServiceResponse,
                  "/v1/metrics": metrics_service_pb2.ExportMetricsServiceResponse}[self.path]().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


def serve_grpc(port: int):
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            if should_fail():
                context.abort(grpc.StatusCode.UNAVAILABLE, "failing on purpose")
            metadata = {k: v for k, v in context.invocation_metadata()}
            record(request, "TraceService/Export", metadata.get("grpc-encoding", ""), "application/grpc", metadata)
            return trace_service_pb2.ExportTraceServiceResponse()

    class Logs(logs_service_pb2_grpc.LogsServiceServicer):
        def Export(self, request, context):
            if should_fail():
                context.abort(grpc.StatusCode.UNAVAILABLE, "failing on purpose")
            metadata = {k: v for k, v in context.invocation_metadata()}
            record(request, "LogsService/Export", metadata.get("grpc-encoding", ""), "application/grpc", metadata)
            return logs_service_pb2.ExportLogsServiceResponse()

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request, context):
            if should_fail():
                context.abort(grpc.StatusCode.UNAVAILABLE, "failing on purpose")
            metadata = {k: v for k, v in context.invocation_metadata()}
            record(request, "MetricsService/Export", metadata.get("grpc-encoding", ""), "application/grpc", metadata)
            return metrics_service_pb2.ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


def main() -> int:
    global fail_first
    parser = argparse.ArgumentParser()
    parser.add_argument("--http-port", type=int)
    parser.add_argument("--grpc-port", type=int)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    fail_first = args.fail_first
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    http_server = None
    if args.http_port:
        http_server = ThreadingHTTPServer(("127.0.0.1", args.http_port), Handler)
        threading.Thread(target=http_server.serve_forever, daemon=True).start()
    grpc_server = serve_grpc(args.grpc_port) if args.grpc_port else None
    print("listening", file=sys.stderr, flush=True)
    done.wait(args.seconds)
    if http_server:
        http_server.shutdown()
    if grpc_server:
        grpc_server.stop(0)
    with lock:
        json.dump(state, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
