#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/corpus/<target>/ from the repository's test fixtures,
configs and hand-made protocol messages (standard library only).

    python3 Fuzz/gen_corpus.py        # from the repository root or from Fuzz/

Each seed starts with the option bytes its target reads first (see the target's doc comment).
Crash inputs found by fuzzing are kept beside the seeds as `regression-*` files; this script
never touches those.
"""
import gzip
import os
import re
import struct
import sys

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
CORPUS = os.path.join(FUZZ, "corpus")


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


OTLP = "Tests/OTLPCodecTests/Fixtures"
TRACES = [read(f"{OTLP}/traces.pb"), read(f"{OTLP}/traces_input.pb"), read(f"{OTLP}/split.pb"),
          read("Tests/QueryAPITests/Fixtures/trace.pb")]
LOGS = [read(f"{OTLP}/logs.pb"), read(f"{OTLP}/logs_input.pb"), read("Tests/QueryAPITests/Fixtures/logs.pb")]


def grpc_frame(message, compressed=False):
    return bytes([1 if compressed else 0]) + struct.pack(">I", len(message)) + message


# --- HTTP/2: frames with HPACK literals (no Huffman, no indexing) ---

def hpack_int(value, prefix_bits, first):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def hpack(headers):
    out = b""
    for name, value in headers:
        name, value = name.encode(), value.encode()
        out += b"\x00" + hpack_int(len(name), 7, 0) + name + hpack_int(len(value), 7, 0) + value
    return out


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINDOW, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 1, 4, 1
CLIENT_SETTINGS = frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 1 << 20) + struct.pack(">HI", 3, 100))


def grpc_request(stream, path, message, extra=()):
    headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost:4317"),
               ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)
    return frame(HEADERS, END_HEADERS, stream, hpack(headers)) + frame(DATA, END_STREAM, stream, message)


TRACE_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
LOGS_PATH = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def http2_seeds():
    seeds = {}
    seeds["grpc-traces"] = CLIENT_SETTINGS + grpc_request(1, TRACE_PATH, grpc_frame(TRACES[0]))
    seeds["grpc-logs"] = CLIENT_SETTINGS + grpc_request(1, LOGS_PATH, grpc_frame(LOGS[0]))
    seeds["grpc-gzip"] = CLIENT_SETTINGS + grpc_request(
        1, TRACE_PATH, grpc_frame(gzip.compress(TRACES[1]), True), [("grpc-encoding", "gzip")])
    # Two streams interleaved, the body in pieces, a ping and a window update between.
    body = grpc_frame(TRACES[1])
    head = [(":method", "POST"), (":scheme", "http"), (":path", TRACE_PATH), (":authority", "a"),
            ("content-type", "application/grpc+proto"), ("content-length", str(len(body)))]
    seeds["grpc-interleaved"] = (CLIENT_SETTINGS + frame(SETTINGS, ACK, 0, b"")
                                 + frame(HEADERS, END_HEADERS, 1, hpack(head)) + frame(HEADERS, END_HEADERS, 3, hpack(head))
                                 + frame(DATA, 0, 1, body[:7]) + frame(PING, 0, 0, b"12345678")
                                 + frame(WINDOW, 0, 0, struct.pack(">I", 65536)) + frame(DATA, 0, 3, body[:100])
                                 + frame(DATA, END_STREAM, 1, body[7:]) + frame(RST, 0, 3, struct.pack(">I", 8))
                                 + frame(GOAWAY, 0, 0, struct.pack(">II", 3, 0)))
    # Headers split over CONTINUATION, then trailers.
    block = hpack([(":method", "POST"), (":scheme", "http"), (":path", TRACE_PATH), (":authority", "a"),
                   ("content-type", "application/grpc"), ("user-agent", "fuzz/" + "x" * 40)])
    seeds["grpc-continuation"] = (CLIENT_SETTINGS + frame(HEADERS, 0, 1, block[:20]) + frame(CONTINUATION, END_HEADERS, 1, block[20:])
                                  + frame(DATA, 0, 1, grpc_frame(TRACES[0]))
                                  + frame(HEADERS, END_HEADERS | END_STREAM, 1, hpack([("x-trailer", "1")])))
    seeds["grpc-too-large"] = CLIENT_SETTINGS + grpc_request(1, TRACE_PATH, b"\x00\x7f\xff\xff\xff" + TRACES[0][:50])
    seeds["grpc-bad-method"] = CLIENT_SETTINGS + frame(HEADERS, END_HEADERS | END_STREAM, 1, hpack(
        [(":method", "GET"), (":scheme", "http"), (":path", TRACE_PATH), (":authority", "a")]))
    out = {}
    for name, frames in seeds.items():
        out[name] = bytes([0, 0]) + frames  # flags 0 (gRPC router, preface added), no read sizes
        out[name + "-chunked"] = bytes([0x18, 3, 1, 9, 200]) + frames  # 4 MiB limit, reads of 1, 9, 200 bytes
    http = [(":method", "POST"), (":scheme", "http"), (":path", "/v1/traces"), (":authority", "a"),
            ("content-type", "application/json")]
    json_body = read(f"{OTLP}/traces.json")
    out["http-post"] = bytes([0x1a, 0]) + CLIENT_SETTINGS + frame(HEADERS, END_HEADERS, 1, hpack(http)) + frame(DATA, END_STREAM, 1, json_body)
    out["http-get-head"] = bytes([0x1a, 0]) + CLIENT_SETTINGS + frame(HEADERS, END_HEADERS | END_STREAM, 1, hpack(
        [(":method", "HEAD"), (":scheme", "http"), (":path", "/api/traces?limit=1"), (":authority", "a")])) + frame(
        HEADERS, END_HEADERS | END_STREAM, 3, hpack([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a")]))
    out["raw-preface"] = bytes([1, 0]) + b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + CLIENT_SETTINGS
    return out


# --- HTTP/1.1 ---

def http1_seeds():
    json_body = read(f"{OTLP}/traces.json")
    proto = TRACES[0]
    chunked = b"".join(b"%x\r\n" % len(proto[i:i + 100]) + proto[i:i + 100] + b"\r\n" for i in range(0, len(proto), 100))
    requests = {
        "get": b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "post-json": b"POST /v1/traces HTTP/1.1\r\nHost: localhost:4318\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(json_body) + json_body,
        "post-chunked": b"POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-protobuf\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\nX-Trailer: 1\r\n\r\n",
        "pipelined": b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                     b"GET /c?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "expect-continue": b"POST /v1/logs HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
        "http10": b"\r\nGET / HTTP/1.0\r\nUser-Agent: fuzz\r\n\r\n",
        "gzip": b"POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                % len(gzip.compress(proto)) + gzip.compress(proto),
        "smuggle": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "absolute": b"OPTIONS http://a:4318/v1/traces?q HTTP/1.1\r\nHost: a\r\n\r\n",
    }
    out = {}
    for name, data in requests.items():
        out[name] = bytes([0x0b, 0x03, 0, 0]) + data
        out[name + "-chunked"] = bytes([0x00, 0x01, 1, 4, 1, 3, 17, 64]) + data
    return out


def grpc_seeds():
    out = {}
    for i, message in enumerate(TRACES[:2] + LOGS[:1]):
        out[f"plain-{i}"] = bytes([0x03]) + grpc_frame(message)
        compressed = gzip.compress(message)
        out[f"gzip-{i}"] = bytes([0x07]) + grpc_frame(compressed, True)
        out[f"gzip-small-limit-{i}"] = bytes([0x05]) + grpc_frame(compressed, True)
    out["bomb"] = bytes([0x06]) + grpc_frame(gzip.compress(b"\x00" * 200000), True)
    out["members"] = bytes([0x07]) + gzip.compress(b"one") + gzip.compress(b"two")
    out["percent"] = bytes([0]) + "grpc: caf\u00e9 100% \x01".encode()
    return out


def config_seeds():
    out = {"collector.yaml": read("config/collector.yaml")}
    for name in sorted(os.listdir(os.path.join(ROOT, "Benchmarks"))):
        if name.endswith(".yaml"):
            out[name] = read(f"Benchmarks/{name}")
    readme = read("README.md").decode()
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", readme, re.S)):
        out[f"readme-{i}.yaml"] = block.encode()
    out["env-and-errors.yaml"] = b"""receivers:
  otlp:
    protocols:
      grpc: { endpoint: "${env:NODE}:${PORT}" }
      http: { endpoint: "0.0.0.0:4318", max_request_body_size: 1048576 }
  filelog:
    include: [ "/var/log/pods/*/*/*.log" ]
    operators:
      - type: container
      - type: json_parser
        timestamp: { parse_from: attributes.time, layout_type: epoch, layout: ms }
        severity: { parse_from: attributes.level }
processors:
  batch: { send_batch_size: 100, timeout: 1s }
  tail_sampling:
    decision_wait: 5s
    policies: [ { name: errors, type: status_code, status_code: { status_codes: [ERROR] } } ]
exporters:
  debug: { verbosity: detailed }
  loki: { endpoint: "http://loki:3100/loki/api/v1/push", sending_queue: { enabled: true } }
  store: { directory: "$${HOME}/data", retention: { max_bytes: 1000000 } }
extensions:
  query: { endpoint: "127.0.0.1:16686" }
service:
  extensions: [query]
  pipelines:
    traces: { receivers: [otlp], processors: [tail_sampling, batch], exporters: [store, debug] }
    logs: { receivers: [otlp, filelog], processors: [batch], exporters: [loki, store] }
    logs/dup: { receivers: [nope], exporters: [store] }
"""
    out["anchors.yaml"] = b"a: &x [1, 2]\nb: *x\nservice: { pipelines: {} }\n"
    return out


def segment_seeds():
    golden = "Tests/StoreTests/Fixtures/golden"
    out = {}
    for name in ("seg-0000000000000001.seg", "seg-0000000000000002.seg"):
        data = read(f"{golden}/{name}")
        out[name] = bytes([0]) + data
        out[name + ".repair"] = bytes([1]) + data
    records = b""
    for i, payload in enumerate(TRACES + LOGS):
        kind = 0 if i < len(TRACES) else 1
        records += bytes([kind]) + struct.pack("<H", len(payload)) + payload
    out["built"] = bytes([2]) + records
    out["built-wrong-count"] = bytes([2]) + bytes([2]) + struct.pack("<H", len(TRACES[0])) + TRACES[0] + records
    return out


def index_seeds():
    data = read("Tests/StoreTests/Fixtures/golden/seg-0000000000000001.idx")
    return {"golden.idx": bytes([0]) + data, "golden.idx.repair": bytes([3]) + data}


def filelog_seeds():
    cri = read("Tests/FileLogReceiverTests/Fixtures/cri.log")
    docker = read("Tests/FileLogReceiverTests/Fixtures/docker.log")
    json_lines = (b'{"time":"1704164645123","level":"warn","trace_id":"0af7651916cd43dd8448eb211c80319c",'
                  b'"ctx":{"span_id":"b7ad6b7169203331"},"flags":"01","n":12,"f":1.5,"ok":true,"nil":null,"o":{"a":[1,2]}}\n'
                  b'{"time":"2024-01-02T03:04:05Z","severity":"error","msg":"caf\\u00e9 \\ud83d\\ude00"}\n'
                  b'plain line\r\n\xff\xfe invalid utf-8\n{"unterminated": ')
    out = {
        "cri": bytes([0x0d, 0, 0]) + cri,
        "cri-chunked": bytes([0x01, 0x0c, 3, 7, 1, 50]) + cri,
        "docker": bytes([0x0e, 0x0f, 0]) + docker,
        "docker-small-lines": bytes([0x02, 0x04, 2, 16, 3]) + docker,
        "auto": bytes([0x0b, 0x07, 0]) + cri + docker,
        "json-lines": bytes([0x0c, 0x05, 0]) + json_lines,
        "json-lines-rfc3339": bytes([0x08, 0x0e, 1, 5]) + json_lines,
        "checkpoint": bytes([0x0c, 0, 0]) + b'{"version":1,"files":[\n{"fingerprint":"6162","path":"/var/log/a.log","dev":2049,"inode":12,"offset":99}]}\n',
    }
    return out


def loki_seeds():
    separator = b"\xff\xfe\xfd\xfc"
    return {
        "one": bytes([0x81]) + LOGS[0],
        "all": bytes([0xff]) + separator.join(LOGS),
        "labels": bytes([0x43]) + LOGS[1] + separator + LOGS[2],
        "undecodable": bytes([0x11]) + LOGS[0][:40] + b"\x0a\x7f" + separator + LOGS[1],
    }


def main():
    for i, payload in enumerate(TRACES):
        write("FuzzOTLPProtobuf", f"traces-{i}", bytes([(i % 8) << 1]) + payload)
    for i, payload in enumerate(LOGS):
        write("FuzzOTLPProtobuf", f"logs-{i}", bytes([1 | (i % 8) << 1]) + payload)
    write("FuzzOTLPProtobuf", "metrics", bytes([0x10 | 2 << 1]) + read(f"{OTLP}/metrics.pb"))
    write("FuzzOTLPJSON", "traces", b"\x00" + read(f"{OTLP}/traces.json"))
    write("FuzzOTLPJSON", "traces-input", b"\x00" + read(f"{OTLP}/traces_input.json"))
    write("FuzzOTLPJSON", "logs", b"\x01" + read(f"{OTLP}/logs.json"))
    write("FuzzOTLPJSON", "logs-input", b"\x01" + read(f"{OTLP}/logs_input.json"))
    write("FuzzOTLPJSON", "metrics", b"\x02" + read(f"{OTLP}/metrics.json"))
    write("FuzzOTLPJSON", "edge-cases", b"\x00" + b'{"resource_spans":[{"scopeSpans":[{"spans":[{"traceId":"", "kind":"SPAN_KIND_SERVER",'
          b'"startTimeUnixNano":"1e3","status":{"code":2},"attributes":[{"key":"d","value":{"doubleValue":"NaN"}},'
          b'{"key":"b","value":{"bytesValue":"AQID"}},{"key":"a","value":{"arrayValue":{"values":[{"intValue":-1}]}}}]}]}]}],'
          b'"unknown":{"nested":[1,2,{"x":null}]}}')
    for target, seeds in (("FuzzHTTP1", http1_seeds()), ("FuzzHTTP2", http2_seeds()), ("FuzzGRPC", grpc_seeds()),
                          ("FuzzConfig", config_seeds()), ("FuzzSegment", segment_seeds()), ("FuzzIndex", index_seeds()),
                          ("FuzzFileLog", filelog_seeds()), ("FuzzLoki", loki_seeds())):
        for name, data in seeds.items():
            write(target, name, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
