#!/usr/bin/env python3
"""A scripted HTTP/2 (h2c) gRPC server on the `h2` library, for the client's GOAWAY and
connection-loss tests: what a real server does at a moment a test cannot otherwise choose.

The first connection collects --streams complete requests, then, by --mode:
    goaway   answers the first --answer of them (by stream id), sends GOAWAY with the last
             answered stream id as last_stream_id, and closes the connection;
    close    closes the connection without answering anything.
Every later connection answers each request at once.

--mode refuse instead resets the first --refuse requests (on any connection) with
REFUSED_STREAM and answers the others at once.

An answer is a gRPC unary response (200, application/grpc, one message, grpc-status 0 in the
trailers) whose message is "conn<N> stream<ID> <request message>".

Prints "PORT <n>" on stdout once listening; stops on SIGTERM or when its parent exits.
"""
import argparse
import os
import socket
import struct
import threading

import h2.config
import h2.connection
import h2.events


def frame(message):
    return b"\x00" + struct.pack(">I", len(message)) + message


def unframe(body):
    return body[5:5 + struct.unpack(">I", body[1:5])[0]] if len(body) >= 5 else b""


def answer(conn, stream_id, number, body):
    conn.send_headers(stream_id, [(":status", "200"), ("content-type", "application/grpc")])
    conn.send_data(stream_id, frame(b"conn%d stream%d %s" % (number, stream_id, unframe(body))))
    conn.send_headers(stream_id, [("grpc-status", "0")], end_stream=True)


refused = [0]


def serve(sock, number, args):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    bodies, complete = {}, []
    while True:
        data = sock.recv(65536)
        if not data:
            return
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.DataReceived):
                bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                complete.append(event.stream_id)
                if args.mode == "refuse" and refused[0] < args.refuse:
                    refused[0] += 1
                    conn.reset_stream(event.stream_id, error_code=7)  # REFUSED_STREAM
                elif number > 1 or args.mode == "refuse":
                    answer(conn, event.stream_id, number, bodies.pop(event.stream_id, b""))
        sock.sendall(conn.data_to_send())
        if number == 1 and args.mode != "refuse" and len(complete) >= args.streams:
            if args.mode == "goaway":
                answered = sorted(complete)[:args.answer]
                for stream_id in answered:
                    answer(conn, stream_id, number, bodies.get(stream_id, b""))
                conn.close_connection(last_stream_id=answered[-1] if answered else 0)
                sock.sendall(conn.data_to_send())
            return


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["goaway", "close", "refuse"], required=True)
    parser.add_argument("--refuse", type=int, default=1)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--answer", type=int, default=2)
    args = parser.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(f"PORT {listener.getsockname()[1]}", flush=True)

    parent = os.getppid()

    def watch_parent():
        while True:
            threading.Event().wait(0.5)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    def run(sock, number):
        try:
            serve(sock, number, args)
        except (ConnectionError, OSError):
            pass
        finally:
            sock.close()

    number = 0
    while True:
        sock, _ = listener.accept()
        number += 1
        threading.Thread(target=run, args=(sock, number), daemon=True).start()


if __name__ == "__main__":
    main()
