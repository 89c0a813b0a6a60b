#!/usr/bin/env python3
"""A gRPC server that is not ours (Python grpcio), for the HTTP/2 and gRPC client's interop tests.

Unary methods on raw bytes (identity serializers), service /test.Echo:
    Echo     answers the request reversed
    Size     the request is a decimal byte count N: answers N pattern bytes (i * 7 + 3 mod 256)
    Hold     never answers; when the client cancels (deadline), records it for Stats
    Barrier  waits until --barrier calls are in the handler at once (at most 10 s), then answers
             the peak number of calls that were in the handler together, as decimal text
    Fail     the request is "CODE message" (CODE a status name): aborts with it
    Retry    aborts RESOURCE_EXHAUSTED with grpc-status-details-bin holding a google.rpc.Status
             with a RetryInfo whose retry_delay is the request's "seconds.nanos" (e.g. "2.500000000")
    Meta     answers the invocation metadata whose names start with "x-", as "name=value" lines
    Stats    answers "cancelled=N" (calls of Hold cancelled by the client so far)

Options: --port (0: ephemeral), --max-streams (SETTINGS_MAX_CONCURRENT_STREAMS),
--max-message-bytes (send and receive), --gzip (compress responses), --tls CERT KEY,
--client-ca FILE (mTLS: client certificates required), --barrier N.

Prints "PORT <n>" on stdout once serving; stops on SIGTERM or when its parent exits.
"""
import argparse
import os
import signal
import threading
from concurrent import futures

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-streams", type=int, default=100)
    parser.add_argument("--max-message-bytes", type=int, default=4 * 1024 * 1024)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--client-ca")
    parser.add_argument("--barrier", type=int, default=100)
    args = parser.parse_args()

    lock = threading.Lock()
    state = {"active": 0, "peak": 0, "cancelled": 0}
    barrier = threading.Barrier(args.barrier)

    def echo(request, context):
        return request[::-1]

    def size(request, context):
        count = int(request.decode())
        return bytes((i * 7 + 3) % 256 for i in range(count))

    def hold(request, context):
        done = threading.Event()

        def cancelled():
            with lock:
                state["cancelled"] += 1
            done.set()

        context.add_callback(cancelled)
        done.wait(120)
        return b""

    def barrier_method(request, context):
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        try:
            barrier.wait(10)
        except threading.BrokenBarrierError:
            pass  # a party that never came (grpc-core refused its stream while busy): answer anyway
        finally:
            with lock:
                state["active"] -= 1
        with lock:
            return str(state["peak"]).encode()

    def fail(request, context):
        name, _, message = request.decode().partition(" ")
        context.abort(getattr(grpc.StatusCode, name), message)

    def retry(request, context):
        seconds, _, nanos = request.decode().partition(".")
        info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(seconds), nanos=int(nanos or 0)))
        detail = any_pb2.Any()
        detail.Pack(info)
        status = status_pb2.Status(code=grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], message="slow down", details=[detail])
        context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down")

    def meta(request, context):
        lines = [f"{k}={v}" for k, v in context.invocation_metadata() if k.startswith("x-")]
        return "\n".join(lines).encode()

    def stats(request, context):
        with lock:
            return f"cancelled={state['cancelled']}".encode()

    methods = {"Echo": echo, "Size": size, "Hold": hold, "Barrier": barrier_method, "Fail": fail,
               "Retry": retry, "Meta": meta, "Stats": stats}
    handlers = {name: grpc.unary_unary_rpc_method_handler(fn) for name, fn in methods.items()}
    options = [
        ("grpc.max_concurrent_streams", args.max_streams),
        ("grpc.max_receive_message_length", args.max_message_bytes),
        ("grpc.max_send_message_length", args.max_message_bytes),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max(64, args.barrier + 16)), options=options,
                         compression=grpc.Compression.Gzip if args.gzip else None)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Echo", handlers),))
    address = f"127.0.0.1:{args.port}"
    if args.tls:
        with open(args.tls[0], "rb") as f:
            cert = f.read()
        with open(args.tls[1], "rb") as f:
            key = f.read()
        root = None
        if args.client_ca:
            with open(args.client_ca, "rb") as f:
                root = f.read()
        credentials = grpc.ssl_server_credentials([(key, cert)], root_certificates=root,
                                                  require_client_auth=root is not None)
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    server.start()
    print(f"PORT {port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:  # the test process is gone: do not outlive it
            break
    server.stop(0)


if __name__ == "__main__":
    main()
