#!/usr/bin/env python3
"""Send raw bytes as one gRPC unary call (grpcio, identity serializers) and report the status.

For testing how a server handles bad input: malformed protobuf, oversize messages, compressed
messages, empty messages. The payload is chosen with --payload:
    valid       a small well-formed ExportTraceServiceRequest / ExportLogsServiceRequest (1 item)
    empty       zero bytes (a valid, empty request)
    malformed   bytes that are not a valid protobuf message (a truncated length-delimited field)
    garbage     --size random bytes (seeded, reproducible)
    oversize    a well-formed request of about --size bytes (one span/log with a big attribute)
    hex         the bytes given by --hex
    file        the bytes of --file

Prints ONE JSON document on stdout:
    {"ok": bool, "target": "127.0.0.1:4317", "method": "/opentelemetry...Export",
     "payload": "malformed", "requestBytes": N, "compression": "gzip"|"none",
     "code": "INVALID_ARGUMENT", "codeValue": 3, "details": "...",
     "responseBytes": N or null, "responseHex": "..." or null,
     "initialMetadata": {...}, "trailingMetadata": {...}, "seconds": S}
Exit status: 0 when the call returned OK, 1 for any other status, 2 for bad arguments.

With --hold SECONDS the channel stays open (idle) that long after the call, e.g. to see what a
server does with connected clients when it shuts down.

Flood mode (--calls N > 1): N calls of the same payload over one channel, --concurrency at a
time (each call blocks until answered), for filling a collector's pipeline. With --stop-on CODE
no new call starts once one was answered with CODE (calls in flight still finish). The first
answer with each status code is announced on stderr as it happens:
    raw_grpc: first UNAVAILABLE after 83 calls started: <details>
and the JSON document is then:
    {"ok": bool (every call OK), "target": ..., "method": ..., "payload": ..., "requestBytes": N,
     "compression": ..., "calls": calls made, "concurrency": C, "codes": {"OK": n, "UNAVAILABLE": m},
     "details": {"UNAVAILABLE": first details seen, ...}, "seconds": S}

Example:
    raw_grpc.py --endpoint 127.0.0.1:4317 --payload malformed
    raw_grpc.py --endpoint 127.0.0.1:4317 --payload oversize --size 5000000 --compression gzip
    raw_grpc.py --endpoint 127.0.0.1:4317 --calls 500 --concurrency 100 --stop-on UNAVAILABLE
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time

sys.dont_write_bytecode = True

import _clientlib as lib  # noqa: E402

METHODS = {
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}

# Field 1 (resource_spans / resource_logs), wire type 2, claiming 100 bytes, followed by 3.
MALFORMED = bytes([0x0A, 0x64, 0x0A, 0x02, 0x08])


def build_request(signal: str, attr_bytes: int = 0) -> bytes:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    now = time.time_ns()
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="e2e-raw-grpc"))])
    scope = InstrumentationScope(name="e2e.raw_grpc", version="0.1.0")
    attrs = [KeyValue(key="e2e.raw", value=AnyValue(bool_value=True))]
    if attr_bytes > 0:
        attrs.append(KeyValue(key="e2e.big", value=AnyValue(string_value="x" * attr_bytes)))
    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
        from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

        span = Span(
            trace_id=bytes.fromhex("e5000000000000000000000000000001"),
            span_id=bytes.fromhex("f600000000000001"),
            name="raw-grpc-span",
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=now - 1_000_000,
            end_time_unix_nano=now,
            attributes=attrs,
        )
        req = ExportTraceServiceRequest(
            resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(scope=scope, spans=[span])])]
        )
    else:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
        from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

        record = LogRecord(
            time_unix_nano=now,
            severity_number=9,
            severity_text="INFO",
            body=AnyValue(string_value="raw grpc log"),
            attributes=attrs,
        )
        req = ExportLogsServiceRequest(
            resource_logs=[ResourceLogs(resource=resource, scope_logs=[ScopeLogs(scope=scope, log_records=[record])])]
        )
    return req.SerializeToString()


def payload_bytes(args: argparse.Namespace) -> bytes:
    if args.payload == "valid":
        return build_request(args.signal)
    if args.payload == "empty":
        return b""
    if args.payload == "malformed":
        return MALFORMED
    if args.payload == "garbage":
        return random.Random(args.seed).randbytes(args.size)
    if args.payload == "oversize":
        base = len(build_request(args.signal))
        return build_request(args.signal, max(args.size - base - 16, 1))
    if args.payload == "hex":
        return bytes.fromhex(args.hex)
    with open(args.file, "rb") as f:
        return f.read()


def metadata_dict(md) -> dict:
    out: dict = {}
    for item in md or ():
        key, value = item[0], item[1]
        out[key] = value.hex() if isinstance(value, bytes) else value
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", required=True, help="HOST:PORT or http://HOST:PORT")
    p.add_argument("--signal", choices=sorted(METHODS), default="traces")
    p.add_argument("--method", help="full method path (default: the signal's Export method)")
    p.add_argument("--payload", choices=["valid", "empty", "malformed", "garbage", "oversize", "hex", "file"],
                   default="valid")
    p.add_argument("--size", type=int, default=5 * 1024 * 1024, help="bytes for garbage/oversize (default 5 MiB)")
    p.add_argument("--hex", help="payload bytes as hex, with --payload hex")
    p.add_argument("--file", help="payload file, with --payload file")
    p.add_argument("--seed", type=int, default=1, help="random seed for --payload garbage")
    p.add_argument("--compression", choices=["none", "gzip"], default="none")
    p.add_argument("--timeout", type=float, default=10.0, help="call deadline in seconds")
    p.add_argument("--calls", type=int, default=1, help="number of calls; more than 1 selects flood mode")
    p.add_argument("--concurrency", type=int, default=1, help="calls in flight at once in flood mode")
    p.add_argument("--hold", type=float, default=0.0, metavar="SECONDS",
                   help="after the call, keep the channel (its connection) open this long before exiting; "
                        "announced on stderr as 'raw_grpc: holding the connection open'")
    p.add_argument("--stop-on", metavar="CODE",
                   help="flood mode: start no new call once one was answered with this status (e.g. UNAVAILABLE)")
    args = p.parse_args(argv)
    if args.calls < 1:
        p.error("--calls must be >= 1")
    if args.concurrency < 1:
        p.error("--concurrency must be >= 1")
    if args.payload == "hex" and args.hex is None:
        p.error("--payload hex needs --hex")
    if args.payload == "file" and args.file is None:
        p.error("--payload file needs --file")

    import grpc

    target = lib.grpc_endpoint(args.endpoint).split("://", 1)[1]
    method = args.method or METHODS[args.signal]
    data = payload_bytes(args)
    doc = {
        "ok": False,
        "target": target,
        "method": method,
        "payload": args.payload,
        "requestBytes": len(data),
        "compression": args.compression,
        "code": None,
        "codeValue": None,
        "details": None,
        "responseBytes": None,
        "responseHex": None,
        "initialMetadata": {},
        "trailingMetadata": {},
        "seconds": None,
    }
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    compression = grpc.Compression.Gzip if args.compression == "gzip" else grpc.Compression.NoCompression
    if args.calls > 1:
        return flood(args, target, method, data, options, compression)
    started = time.monotonic()
    with grpc.insecure_channel(target, options=options) as channel:
        call = channel.unary_unary(
            method,
            request_serializer=lambda b: b,  # identity: send the bytes as they are
            response_deserializer=lambda b: b,
        )
        try:
            response, rpc = call.with_call(data, timeout=args.timeout, compression=compression)
            code, details = rpc.code(), rpc.details()
            doc["responseBytes"] = len(response)
            doc["responseHex"] = response[:4096].hex()
            doc["initialMetadata"] = metadata_dict(rpc.initial_metadata())
            doc["trailingMetadata"] = metadata_dict(rpc.trailing_metadata())
        except grpc.RpcError as err:
            code, details = err.code(), err.details()
            doc["initialMetadata"] = metadata_dict(err.initial_metadata())
            doc["trailingMetadata"] = metadata_dict(err.trailing_metadata())
        if args.hold > 0:
            hold(args.hold, {**doc, "code": code.name, "details": details})
    doc["seconds"] = round(time.monotonic() - started, 3)
    doc["code"] = code.name
    doc["codeValue"] = code.value[0]
    doc["details"] = details
    doc["ok"] = code == grpc.StatusCode.OK
    lib.emit(doc)
    if not doc["ok"]:
        print(f"raw_grpc: {method} on {target} -> {code.name}: {details}", file=sys.stderr)
        return lib.EXIT_EXPORT_FAILED
    return lib.EXIT_OK


def hold(seconds: float, doc: dict) -> None:
    """Print the report so far, then keep the caller's connection open for `seconds`."""
    print(f"raw_grpc: {doc['code']}; holding the connection open for {seconds:g}s", file=sys.stderr, flush=True)
    time.sleep(seconds)


def flood(args: argparse.Namespace, target: str, method: str, data: bytes, options, compression) -> int:
    """Flood mode: --calls calls, --concurrency at a time, one channel (see the module doc)."""
    import grpc

    stop_on = args.stop_on.upper() if args.stop_on else None
    mu = threading.Lock()
    state = {"started": 0, "stop": False}
    codes: dict[str, int] = {}
    details: dict[str, str] = {}

    def worker(call) -> None:
        while True:
            with mu:
                if state["stop"] or state["started"] >= args.calls:
                    return
                state["started"] += 1
            try:
                call.with_call(data, timeout=args.timeout, compression=compression)
                code, detail = grpc.StatusCode.OK, ""
            except grpc.RpcError as err:
                code, detail = err.code(), err.details() or ""
            with mu:
                codes[code.name] = codes.get(code.name, 0) + 1
                if code.name not in details:
                    details[code.name] = detail
                    print(f"raw_grpc: first {code.name} after {state['started']} calls started: {detail}",
                          file=sys.stderr, flush=True)
                if stop_on is not None and code.name == stop_on:
                    state["stop"] = True

    started = time.monotonic()
    with grpc.insecure_channel(target, options=options) as channel:
        call = channel.unary_unary(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        threads = [threading.Thread(target=worker, args=(call,), daemon=True) for _ in range(args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    doc = {
        "ok": set(codes) == {"OK"},
        "target": target,
        "method": method,
        "payload": args.payload,
        "requestBytes": len(data),
        "compression": args.compression,
        "calls": sum(codes.values()),
        "concurrency": args.concurrency,
        "codes": codes,
        "details": details,
        "seconds": round(time.monotonic() - started, 3),
    }
    lib.emit(doc)
    if not doc["ok"]:
        print(f"raw_grpc: {doc['calls']} calls to {method} on {target}: {codes}", file=sys.stderr)
        return lib.EXIT_EXPORT_FAILED
    return lib.EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
