#!/usr/bin/env python3
"""A Loki push endpoint for the filelog benchmark: accepts POST /loki/api/v1/push
(protobuf + snappy), decompresses with the system libsnappy (ctypes), counts the entries of
every stream in the logproto.PushRequest, and answers 204. Keeps running totals in
<dir>/sink.json ({"requests", "entries", "compressed_bytes", "bytes"}). Unlike
Tests/LokiExporterTests/fake_loki.py it keeps no per-line record: it must keep up with gigabytes.

    loki_sink.py --port 13100 --dir Benchmarks/out/loki-sink
"""
import argparse, ctypes, ctypes.util, json, os, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

snappy = ctypes.CDLL(ctypes.util.find_library("snappy") or "libsnappy.so.1")


def uncompress(data):
    n = ctypes.c_size_t()
    if snappy.snappy_uncompressed_length(data, ctypes.c_size_t(len(data)), ctypes.byref(n)) != 0:
        raise ValueError("not snappy")
    out = ctypes.create_string_buffer(n.value)
    if snappy.snappy_uncompress(data, ctypes.c_size_t(len(data)), out, ctypes.byref(n)) != 0:
        raise ValueError("corrupt snappy")
    return out.raw[:n.value]


def varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]; pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def count_entries(buf):
    """Entries (field 2) of every stream (field 1) of a PushRequest."""
    total, pos, end = 0, 0, len(buf)
    while pos < end:
        key, pos = varint(buf, pos)
        if key & 7 != 2:
            raise ValueError("unexpected wire type in PushRequest")
        n, pos = varint(buf, pos)
        if key >> 3 == 1:
            spos, send = pos, pos + n
            while spos < send:
                skey, spos = varint(buf, spos)
                if skey & 7 != 2:
                    raise ValueError("unexpected wire type in StreamAdapter")
                sn, spos = varint(buf, spos)
                if skey >> 3 == 2:
                    total += 1
                spos += sn
        pos += n
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    totals = {"requests": 0, "entries": 0, "compressed_bytes": 0, "bytes": 0}
    lock = threading.Lock()
    path = os.path.join(args.dir, "sink.json")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                raw = uncompress(body)
                entries = count_entries(raw)
                status = 204
            except Exception as e:
                status, entries, raw = 400, 0, b""
            with lock:
                if status == 204:
                    totals["requests"] += 1
                    totals["entries"] += entries
                    totals["compressed_bytes"] += len(body)
                    totals["bytes"] += len(raw)
                with open(path + ".tmp", "w") as f:
                    json.dump(totals, f)
                os.replace(path + ".tmp", path)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(path, "w") as f:
        json.dump(totals, f)
    server.serve_forever()


if __name__ == "__main__":
    main()
