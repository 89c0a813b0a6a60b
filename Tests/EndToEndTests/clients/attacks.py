#!/usr/bin/env python3
"""Hostile clients for the attack end-to-end tests (issue 11). Each subcommand runs one attack
against a collectord on loopback and prints ONE JSON document on stdout with what it saw.

    attacks.py slowloris --port P [--connections 200] [--interval 0.5] [--seconds 10]
        Opens the connections and trickles an HTTP/1.1 request head one byte per interval,
        never finishing it. Reports how many the server closed and after how long.
    attacks.py h1-half --port P [--connections 25] [--mib 19] [--seconds 8]
        Each connection declares Content-Length of MIB MiB + 1 and sends all but the last
        byte, then waits. Reports the status lines answered and how many stayed open.
    attacks.py h2-half --port P [--connections 2] [--streams 100] [--kib 1024] [--seconds 8]
        h2c (the h2 library): each connection opens STREAMS gRPC calls whose message declares
        KIB KiB + 1 and sends all but the last byte, never END_STREAM, honouring flow
        control. Reports per outcome: grpc-status answered, resets, streams still open.
    attacks.py validate-bomb --collectord PATH
        Writes a "billion laughs" YAML (nested aliases) and runs `collectord validate` on it.
        Reports the exit code, the start of stderr, the seconds taken and the child's peak
        RSS (KiB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setblocking(False)
    return sock


def peer_closed(sock: socket.socket) -> bool:
    try:
        data = sock.recv(65536)
        return data == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def slowloris(args) -> dict:
    head = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nX-Slow: " + b"a" * 10_000
    socks = [connect(args.port) for _ in range(args.connections)]
    closed_at: dict[int, float] = {}
    start = time.monotonic()
    position = 0
    while time.monotonic() - start < args.seconds and len(closed_at) < len(socks):
        for i, sock in enumerate(socks):
            if i in closed_at:
                continue
            if peer_closed(sock):
                closed_at[i] = time.monotonic() - start
                continue
            try:
                sock.send(head[position:position + 1])
            except OSError:
                closed_at[i] = time.monotonic() - start
        position = min(position + 1, len(head) - 1)
        time.sleep(args.interval)
    for sock in socks:
        sock.close()
    times = sorted(closed_at.values())
    return {"connections": len(socks), "closed": len(closed_at),
            "first_closed_s": times[0] if times else None, "last_closed_s": times[-1] if times else None}


def h1_half(args) -> dict:
    size = args.mib << 20
    socks = [connect(args.port) for _ in range(args.connections)]
    chunk = b"\x00" * (1 << 20)
    answers: dict[int, str] = {}
    for i, sock in enumerate(socks):
        sock.setblocking(True)
        sock.settimeout(10)
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                     + b"Content-Length: %d\r\n\r\n" % (size + 1))
        sent = 0
        try:
            while sent < size:
                n = min(len(chunk), size - sent)
                sock.sendall(chunk[:n])
                sent += n
        except OSError:
            pass  # the server answered and closed: read its answer below
        sock.setblocking(False)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        for i, sock in enumerate(socks):
            if i in answers:
                continue
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                answers[i] = "reset"
                continue
            answers[i] = data.split(b"\r\n", 1)[0].decode() if data else "closed"
        time.sleep(0.1)
    for sock in socks:
        sock.close()
    statuses: dict[str, int] = {}
    for answer in answers.values():
        statuses[answer] = statuses.get(answer, 0) + 1
    return {"connections": len(socks), "answers": statuses, "open": len(socks) - len(answers)}


def h2_half(args) -> dict:
    size = args.kib << 10
    prefix = b"\x00" + (size + 1).to_bytes(4, "big")
    outcomes: dict[str, int] = {}
    conns = []
    for _ in range(args.connections):
        sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        streams = {}
        for _ in range(args.streams):
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"),
                                    (":path", "/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
                                    ("content-type", "application/grpc"), ("te", "trailers")])
            streams[sid] = {"pending": prefix + b"\x07" * (size - len(prefix)), "outcome": None}
        sock.sendall(conn.data_to_send())
        sock.setblocking(False)
        conns.append((sock, conn, streams))
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        for sock, conn, streams in conns:
            for sid, state in streams.items():
                if state["outcome"] is None and state["pending"]:
                    try:
                        window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
                    except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, KeyError):
                        continue
                    if window > 0:
                        piece = state["pending"][:window]
                        try:
                            conn.send_data(sid, piece)
                        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                            continue
                        state["pending"] = state["pending"][len(piece):]
            try:
                out = conn.data_to_send()
                if out:
                    sock.setblocking(True)
                    sock.sendall(out)
                    sock.setblocking(False)
                data = sock.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                for state in streams.values():
                    if state["outcome"] is None:
                        state["outcome"] = "connection closed"
                continue
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.TrailersReceived) or isinstance(event, h2.events.ResponseReceived):
                    headers = dict(event.headers)
                    if "grpc-status" in headers and event.stream_id in streams:
                        streams[event.stream_id]["outcome"] = "grpc-status " + headers["grpc-status"]
                elif isinstance(event, h2.events.StreamReset) and event.stream_id in streams:
                    if streams[event.stream_id]["outcome"] is None:
                        streams[event.stream_id]["outcome"] = "reset %d" % event.error_code
        time.sleep(0.01)
    for sock, conn, streams in conns:
        for state in streams.values():
            key = state["outcome"] or ("open, sent all" if not state["pending"] else "open, waiting for window")
            outcomes[key] = outcomes.get(key, 0) + 1
        sock.close()
    return {"connections": args.connections, "streams": args.streams * args.connections, "outcomes": outcomes}


def validate_bomb(args) -> dict:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines.append("receivers: *a9")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        start = time.monotonic()
        result = subprocess.run([args.collectord, "validate", "--config", path], capture_output=True, text=True, timeout=120)
        seconds = time.monotonic() - start
    finally:
        os.unlink(path)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"exit_code": result.returncode, "stderr_head": result.stderr[:2000],
            "seconds": seconds, "max_rss_kib": rss}


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="attack", required=True)
    s = sub.add_parser("slowloris")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--connections", type=int, default=200)
    s.add_argument("--interval", type=float, default=0.5)
    s.add_argument("--seconds", type=float, default=10)
    h = sub.add_parser("h1-half")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--connections", type=int, default=25)
    h.add_argument("--mib", type=int, default=19)
    h.add_argument("--seconds", type=float, default=8)
    g = sub.add_parser("h2-half")
    g.add_argument("--port", type=int, required=True)
    g.add_argument("--connections", type=int, default=2)
    g.add_argument("--streams", type=int, default=100)
    g.add_argument("--kib", type=int, default=1024)
    g.add_argument("--seconds", type=float, default=8)
    b = sub.add_parser("validate-bomb")
    b.add_argument("--collectord", required=True)
    args = parser.parse_args()
    report = {"slowloris": slowloris, "h1-half": h1_half, "h2-half": h2_half, "validate-bomb": validate_bomb}[args.attack](args)
    json.dump(report, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
