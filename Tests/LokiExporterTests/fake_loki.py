#!/usr/bin/env python3
"""A fake Loki for the loki exporter's tests.

Serves POST /loki/api/v1/push on 127.0.0.1:<port>. Decodes the real wire format independently
of the Swift code: snappy block format (a pure-Python decoder below) + logproto.PushRequest
(a hand-written protobuf reader), or the JSON push body. Answers with the scripted statuses
given by --script (comma-separated, consumed in order: "429:1" = 429 with Retry-After: 1,
"500", "400"), then 204 forever. Every request is appended as one JSON line to <dir>/received.jsonl:
{"status", "tenant", "content_type", "headers", "body" (the error body sent), "time", "peer" (the
client's port: pushes on one kept-alive connection share it),
 "streams": [{"labels", "entries": [{"ts", "line", "metadata": [[name, value], ...]}]}]}.
Writes <dir>/ready once listening. With --tls-cert/--tls-key it serves HTTPS (Python's ssl).

SIGTERM stops it cleanly: a request being answered is recorded and answered first, then the
process exits (connections are refused from then on), so a stop never records a push that the
client did not get an answer for. Restarted with the same --dir, it appends to received.jsonl.
"""
import argparse, json, os, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def snappy_decompress(data):
    """Snappy block format: a varint uncompressed length, then literal and copy elements."""
    pos, length, shift = 0, 0, 0
    while True:
        b = data[pos]; pos += 1
        length |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            break
    out = bytearray()
    while pos < len(data):
        tag = data[pos]; pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            n = tag >> 2
            if n >= 60:
                extra = n - 59
                n = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            n += 1
            out += data[pos:pos + n]
            pos += n
            continue
        if kind == 1:
            n = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | data[pos]; pos += 1
        elif kind == 2:
            n = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 2], "little"); pos += 2
        else:
            n = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 4], "little"); pos += 4
        if offset == 0 or offset > len(out):
            raise ValueError("bad snappy copy offset")
        for _ in range(n):  # byte by byte: copies may overlap their own output
            out.append(out[-offset])
    if len(out) != length:
        raise ValueError("snappy length mismatch: %d != %d" % (len(out), length))
    return bytes(out)


def fields(buf):
    """Yields (field number, wire type, value) of one protobuf message."""
    pos = 0
    def varint():
        nonlocal pos
        result, shift = 0, 0
        while True:
            b = buf[pos]; pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result
    while pos < len(buf):
        key = varint()
        number, wt = key >> 3, key & 7
        if wt == 0:
            yield number, wt, varint()
        elif wt == 2:
            n = varint()
            yield number, wt, buf[pos:pos + n]
            pos += n
        elif wt == 1:
            yield number, wt, buf[pos:pos + 8]; pos += 8
        elif wt == 5:
            yield number, wt, buf[pos:pos + 4]; pos += 4
        else:
            raise ValueError("wire type %d" % wt)


def decode_push_request(raw):
    streams = []
    for n, _, stream in fields(raw):
        if n != 1:
            continue
        s = {"labels": "", "entries": []}
        for sn, _, sv in fields(stream):
            if sn == 1:
                s["labels"] = sv.decode()
            elif sn == 2:
                e = {"ts": 0, "line": "", "metadata": []}
                for en, _, ev in fields(sv):
                    if en == 1:
                        secs = nanos = 0
                        for tn, _, tv in fields(ev):
                            if tn == 1: secs = tv
                            if tn == 2: nanos = tv
                        e["ts"] = secs * 1_000_000_000 + nanos
                    elif en == 2:
                        e["line"] = ev.decode()
                    elif en == 3:
                        pair = {1: "", 2: ""}
                        for pn, _, pv in fields(ev):
                            pair[pn] = pv.decode()
                        e["metadata"].append([pair[1], pair[2]])
                s["entries"].append(e)
        streams.append(s)
    return streams


def decode_json(raw):
    streams = []
    for s in json.loads(raw)["streams"]:
        labels = "{" + ", ".join('%s="%s"' % (k, v) for k, v in sorted(s["stream"].items())) + "}"
        entries = []
        for v in s["values"]:
            meta = [[k, x] for k, x in v[2].items()] if len(v) > 2 else []
            entries.append({"ts": int(v[0]), "line": v[1], "metadata": meta})
        streams.append({"labels": labels, "entries": entries})
    return streams


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--script", default="")
    ap.add_argument("--tls-cert", default="", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", default="", help="and this key (PEM)")
    args = ap.parse_args()
    script = [s for s in args.script.split(",") if s]
    lock = threading.Lock()
    # Held from recording a request to having answered it; SIGTERM takes it before exiting.
    answering = threading.Lock()
    log_path = os.path.join(args.dir, "received.jsonl")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ctype = self.headers.get("Content-Type", "")
            with lock:
                step = script.pop(0) if script else "204"
            parts = step.split(":")
            status = int(parts[0])
            record = {"status": status, "tenant": self.headers.get("X-Scope-OrgID"), "content_type": ctype,
                      "headers": {k: v for k, v in self.headers.items()}, "time": time.time(), "streams": [],
                      "peer": self.client_address[1]}
            answer = b""
            try:
                if ctype == "application/x-protobuf":
                    streams = decode_push_request(snappy_decompress(body))
                else:
                    streams = decode_json(body)
            except Exception as e:  # a decoding failure is what Loki answers 400 to
                status, answer = 400, ("fake loki cannot decode: %s" % e).encode()
                streams = []
            if 200 <= status < 300:
                record["streams"] = streams
            elif not answer:
                answer = ("scripted %d" % status).encode()
            record["status"] = status
            record["body"] = answer.decode()
            with answering:
                with lock:
                    with open(log_path, "a") as f:
                        f.write(json.dumps(record) + "\n")
                self.send_response(status)
                if len(parts) > 1:
                    self.send_header("Retry-After", parts[1])
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                self.wfile.flush()

    def terminate(signum, frame):
        answering.acquire()
        os._exit(0)

    signal.signal(signal.SIGTERM, terminate)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    open(os.path.join(args.dir, "ready"), "w").close()
    server.serve_forever()


if __name__ == "__main__":
    main()
