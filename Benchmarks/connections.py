#!/usr/bin/env python3
"""Memory per idle client connection of a running collectord (Benchmarks/connections.sh).

Opens --count connections of one kind, sends one small OTLP request (--body, a serialized
ExportTraceServiceRequest) on each, then reads every answer, keeps them all open and idle, and
reads the collector's VmRSS (/proc/PID/status) before, while they are open, and after they are
closed. Kinds: http1 (POST /v1/traces, keep-alive) and h2 (gRPC over h2c, with the h2 library).
Prints one JSON line per kind: {"kind", "count", "rss_before_kib", "rss_half_kib",
"rss_open_kib", "rss_closed_kib", "bytes_per_connection" (the growth from half of the
connections to all of them, per connection: the cost of one more idle connection),
"average_bytes_per_connection" (all growth over all connections)}.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import struct
import time

import h2.config
import h2.connection
import h2.events


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def http1_send(sock: socket.socket, body: bytes, port: int) -> None:
    head = (f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-protobuf\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    sock.sendall(head + body)


def http1_answer(sock: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("closed before the answer")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    if status != b"200":
        raise RuntimeError(f"answered {head!r}")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        rest += sock.recv(65536)


def h2_send(sock: socket.socket, body: bytes) -> h2.connection.H2Connection:
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, [
        (":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"),
        (":path", "/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
        ("content-type", "application/grpc"), ("te", "trailers"),
    ])
    conn.send_data(stream, b"\x00" + struct.pack(">I", len(body)) + body, end_stream=True)
    sock.sendall(conn.data_to_send())
    return conn


def h2_answer(sock: socket.socket, conn: h2.connection.H2Connection) -> None:
    status = None
    while True:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("closed before the answer")
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if isinstance(event, h2.events.TrailersReceived):
                status = dict(event.headers).get("grpc-status")
            if isinstance(event, h2.events.StreamEnded):
                if status != "0":
                    raise RuntimeError(f"grpc-status {status}")
                sock.sendall(conn.data_to_send())
                return
        sock.sendall(conn.data_to_send())


def run(kind: str, args: argparse.Namespace, body: bytes) -> dict:
    port = args.http_port if kind == "http1" else args.grpc_port
    time.sleep(args.settle)
    before = rss_kib(args.pid)
    # Requests go in waves of --wave connections, each wave's requests all sent before its
    # answers are read: answers come once the batch processor has sent the data on (its
    # 200 ms timeout), and one after the other would take minutes, past the server's idle
    # timeout for the first connections.
    socks = []
    half = None
    for start in range(0, args.count, args.wave):
        if start >= args.count // 2 and half is None:
            time.sleep(args.settle)
            half = (len(socks), rss_kib(args.pid))
        wave = []
        for _ in range(min(args.wave, args.count - start)):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if kind == "http1":
                http1_send(sock, body, port)
                wave.append((sock, None))
            else:
                wave.append((sock, h2_send(sock, body)))
        for sock, conn in wave:
            if kind == "http1":
                http1_answer(sock)
            else:
                h2_answer(sock, conn)
        socks += [sock for sock, _ in wave]
    time.sleep(args.settle)
    opened = rss_kib(args.pid)
    for sock in socks:
        sock.close()
    time.sleep(args.settle)
    closed = rss_kib(args.pid)
    # The second half's growth per connection: what one more idle connection costs. The first
    # half also pays for what the server keeps once for any number of connections (buffers of
    # the requests in flight together, malloc's free lists), which is in the average.
    return {"kind": kind, "count": args.count, "rss_before_kib": before, "rss_half_kib": half[1],
            "rss_open_kib": opened, "rss_closed_kib": closed,
            "bytes_per_connection": round((opened - half[1]) * 1024 / (len(socks) - half[0])),
            "average_bytes_per_connection": round((opened - before) * 1024 / args.count)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--grpc-port", type=int, default=14317)
    p.add_argument("--http-port", type=int, default=14318)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--body", required=True)
    p.add_argument("--kinds", default="http1,h2")
    p.add_argument("--settle", type=float, default=2.0)
    p.add_argument("--wave", type=int, default=50, help="connections whose requests are in flight together")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    body = open(args.body, "rb").read()
    for kind in args.kinds.split(","):
        print(json.dumps(run(kind, args, body)), flush=True)


if __name__ == "__main__":
    main()
