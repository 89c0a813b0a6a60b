#!/usr/bin/env python3
"""POST a hand-built OTLP/JSON request to /v1/traces or /v1/logs.

The request follows the OTLP JSON mapping (lowerCamelCase field names, trace/span ids as hex,
64-bit integers as decimal strings, enums as integers, bytes as base64). It is written out
field by field, not produced by a protobuf library, so it checks the collector against the
spec's JSON rather than against one library's JSON.

Prints ONE JSON document on stdout:
    {"ok": bool, "url": ..., "signal": ..., "gzip": bool,
     "request": <the OTLP/JSON document sent>, "requestBytes": N, "bodyBytes": N,
     "status": HTTP status or null, "responseHeaders": {...}, "responseBody": "...",
     "responseJson": <parsed body or null>, "error": null or "...",
     "report": <the request read back into _clientlib's report format (spans / logRecords with
                typed values, hex ids, ints as integers), i.e. what the collector must print>}
Exit status: 0 for a 2xx answer, 1 for any other answer or no answer, 2 for bad arguments.

Examples:
    send_json.py --endpoint http://127.0.0.1:4318
    send_json.py --endpoint http://127.0.0.1:4318 --signal logs --gzip
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import sys
import time

sys.dont_write_bytecode = True

import _clientlib as lib  # noqa: E402

LARGE_INT64 = 9007199254740993


def s(v: str) -> dict:
    return {"stringValue": v}


def i64(v: int) -> dict:
    return {"intValue": str(v)}  # int64 as a decimal string


def kv(key: str, value: dict) -> dict:
    return {"key": key, "value": value}


def ids(seed: int, n: int) -> tuple[str, str]:
    trace_id = f"c3{seed:06x}{0:08x}{n:016x}"  # 32 hex digits
    span_id = f"d4{seed:06x}{n:08x}"  # 16 hex digits
    return trace_id, span_id


def resource(service: str) -> dict:
    return {
        "attributes": [
            kv("service.name", s(service)),
            kv("service.version", s("2.0.0")),
            kv("e2e.resource.int", i64(11)),
        ],
        "droppedAttributesCount": 0,
    }


SCOPE = {"name": "e2e.send_json", "version": "0.2.0", "attributes": [kv("scope.attr", s("x"))]}


def all_types() -> list[dict]:
    return [
        kv("e2e.str", s("hello json")),
        kv("e2e.str.unicode", s("\u65e5\u672c\u8a9e \u2713")),
        kv("e2e.bool", {"boolValue": True}),
        kv("e2e.int", i64(42)),
        kv("e2e.int64.large", i64(LARGE_INT64)),
        kv("e2e.int.negative", i64(-9000000000)),
        kv("e2e.double", {"doubleValue": 2.5}),
        kv("e2e.bytes", {"bytesValue": base64.b64encode(b"\x00\x01\xfe\xff").decode()}),
        kv("e2e.str.array", {"arrayValue": {"values": [s("x"), s("y")]}}),
        kv("e2e.int.array", {"arrayValue": {"values": [i64(1), i64(LARGE_INT64)]}}),
        kv("e2e.kvlist", {"kvlistValue": {"values": [kv("inner.str", s("v")), kv("inner.bool", {"boolValue": False})]}}),
    ]


def traces_request(service: str, seed: int, now: int) -> dict:
    trace_id, root_id = ids(seed, 1)
    _, child_id = ids(seed, 2)
    other_trace, other_span = ids(seed, 99)
    return {
        "resourceSpans": [
            {
                "resource": resource(service),
                "scopeSpans": [
                    {
                        "scope": SCOPE,
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": root_id,
                                "name": "json-root",
                                "kind": 2,  # SPAN_KIND_SERVER
                                "startTimeUnixNano": str(now - 5_000_000),
                                "endTimeUnixNano": str(now),
                                "attributes": all_types(),
                                "events": [
                                    {
                                        "timeUnixNano": str(now - 1_000_000),
                                        "name": "json.event",
                                        "attributes": [kv("event.n", i64(1))],
                                    }
                                ],
                                "links": [
                                    {
                                        "traceId": other_trace,
                                        "spanId": other_span,
                                        "attributes": [kv("link.reason", s("json"))],
                                    }
                                ],
                                "status": {"code": 1},  # STATUS_CODE_OK
                            },
                            {
                                "traceId": trace_id,
                                "spanId": child_id,
                                "parentSpanId": root_id,
                                "name": "json-child",
                                "kind": 3,  # SPAN_KIND_CLIENT
                                "startTimeUnixNano": str(now - 4_000_000),
                                "endTimeUnixNano": str(now - 2_000_000),
                                "attributes": [kv("http.request.method", s("GET"))],
                                "status": {"code": 2, "message": "upstream timeout"},  # STATUS_CODE_ERROR
                            },
                        ],
                    }
                ],
            }
        ]
    }


def logs_request(service: str, seed: int, now: int) -> dict:
    trace_id, span_id = ids(seed, 1)
    return {
        "resourceLogs": [
            {
                "resource": resource(service),
                "scopeLogs": [
                    {
                        "scope": SCOPE,
                        "logRecords": [
                            {
                                "timeUnixNano": str(now - 1_000_000),
                                "observedTimeUnixNano": str(now),
                                "severityNumber": 9,  # SEVERITY_NUMBER_INFO
                                "severityText": "INFO",
                                "body": s("json log line"),
                                "attributes": all_types(),
                                "traceId": trace_id,
                                "spanId": span_id,
                                "flags": 1,
                            },
                            {
                                "timeUnixNano": str(now),
                                "severityNumber": 17,  # SEVERITY_NUMBER_ERROR
                                "severityText": "ERROR",
                                "body": s("json error line"),
                                "attributes": [kv("error.type", s("Timeout"))],
                            },
                        ],
                    }
                ],
            }
        ]
    }


# --------------------------------------------------------------------------------------------
# The request read back as a report in _clientlib's format ("report" in the output), straight
# from the OTLP JSON mapping: what a collector must print for it. Absent fields take their
# protobuf defaults (0, "", empty).


def json_typed_value(v: dict | None) -> dict:
    v = v or {}
    if "stringValue" in v:
        return {"type": "string", "value": v["stringValue"]}
    if "boolValue" in v:
        return {"type": "bool", "value": bool(v["boolValue"])}
    if "intValue" in v:
        return {"type": "int", "value": int(v["intValue"])}
    if "doubleValue" in v:
        return {"type": "double", "value": float(v["doubleValue"])}
    if "bytesValue" in v:
        return {"type": "bytes", "value": base64.b64decode(v["bytesValue"]).hex()}
    if "arrayValue" in v:
        return {"type": "array", "value": [json_typed_value(x) for x in v["arrayValue"].get("values", [])]}
    if "kvlistValue" in v:
        return {"type": "kvlist", "value": json_attributes(v["kvlistValue"].get("values", []))}
    return {"type": "empty", "value": None}


def json_attributes(kvs: list[dict]) -> list[dict]:
    return [{"key": kv["key"], **json_typed_value(kv.get("value"))} for kv in kvs]


def json_resource(r: dict, schema_url: str) -> dict:
    return {
        "attributes": json_attributes(r.get("attributes", [])),
        "droppedAttributesCount": int(r.get("droppedAttributesCount", 0)),
        "schemaUrl": schema_url,
    }


def json_scope(sc: dict, schema_url: str) -> dict:
    return {
        "name": sc.get("name", ""),
        "version": sc.get("version", ""),
        "attributes": json_attributes(sc.get("attributes", [])),
        "droppedAttributesCount": int(sc.get("droppedAttributesCount", 0)),
        "schemaUrl": schema_url,
    }


def json_span(sp: dict) -> dict:
    kind = int(sp.get("kind", 0))
    status = sp.get("status", {})
    code = int(status.get("code", 0))
    return {
        "traceId": sp.get("traceId", "").lower(),
        "spanId": sp.get("spanId", "").lower(),
        "parentSpanId": sp.get("parentSpanId", "").lower(),
        "traceState": sp.get("traceState", ""),
        "flags": int(sp.get("flags", 0)),
        "name": sp.get("name", ""),
        "kind": kind,
        "kindName": lib.OTLP_SPAN_KINDS[kind] if kind < len(lib.OTLP_SPAN_KINDS) else str(kind),
        "startTimeUnixNano": int(sp.get("startTimeUnixNano", 0)),
        "endTimeUnixNano": int(sp.get("endTimeUnixNano", 0)),
        "status": {
            "code": code,
            "codeName": lib.OTLP_STATUS_CODES[code] if code < len(lib.OTLP_STATUS_CODES) else str(code),
            "message": status.get("message", ""),
        },
        "attributes": json_attributes(sp.get("attributes", [])),
        "droppedAttributesCount": int(sp.get("droppedAttributesCount", 0)),
        "events": [
            {
                "name": e.get("name", ""),
                "timeUnixNano": int(e.get("timeUnixNano", 0)),
                "attributes": json_attributes(e.get("attributes", [])),
                "droppedAttributesCount": int(e.get("droppedAttributesCount", 0)),
            }
            for e in sp.get("events", [])
        ],
        "droppedEventsCount": int(sp.get("droppedEventsCount", 0)),
        "links": [
            {
                "traceId": link.get("traceId", "").lower(),
                "spanId": link.get("spanId", "").lower(),
                "traceState": link.get("traceState", ""),
                "flags": int(link.get("flags", 0)),
                "attributes": json_attributes(link.get("attributes", [])),
                "droppedAttributesCount": int(link.get("droppedAttributesCount", 0)),
            }
            for link in sp.get("links", [])
        ],
        "droppedLinksCount": int(sp.get("droppedLinksCount", 0)),
    }


def json_log(r: dict) -> dict:
    return {
        "timeUnixNano": int(r.get("timeUnixNano", 0)),
        "observedTimeUnixNano": int(r.get("observedTimeUnixNano", 0)),
        "severityNumber": int(r.get("severityNumber", 0)),
        "severityText": r.get("severityText", ""),
        "body": json_typed_value(r.get("body")),
        "attributes": json_attributes(r.get("attributes", [])),
        "droppedAttributesCount": int(r.get("droppedAttributesCount", 0)),
        "flags": int(r.get("flags", 0)),
        "traceId": r.get("traceId", "").lower(),
        "spanId": r.get("spanId", "").lower(),
        "eventName": r.get("eventName", ""),
    }


def expected_report(request: dict, signal: str, url: str, ok: bool, body_bytes: int) -> dict:
    """The request in _clientlib.Report's JSON shape (one export, the POST itself)."""
    report = lib.Report(signal, "http", url)
    groups, scope_key, items_key, convert = (
        ("resourceSpans", "scopeSpans", "spans", json_span) if signal == "traces"
        else ("resourceLogs", "scopeLogs", "logRecords", json_log)
    )
    for rg in request.get(groups, []):
        ri = report._index(report.resources, json_resource(rg.get("resource", {}), rg.get("schemaUrl", "")))
        for sg in rg.get(scope_key, []):
            si = report._index(report.scopes, json_scope(sg.get("scope", {}), sg.get("schemaUrl", "")))
            for item in sg.get(items_key, []):
                entry = convert(item)
                entry.update({"resourceIndex": ri, "scopeIndex": si, "exportIndex": 0})
                report.items.append(entry)
    report.exports.append({"items": len(report.items), "bytes": body_bytes,
                           "result": "SUCCESS" if ok else "FAILURE", "seconds": 0.0})
    return report.render()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", required=True, help="base URL, e.g. http://127.0.0.1:4318")
    p.add_argument("--signal", choices=["traces", "logs"], default="traces")
    p.add_argument("--gzip", action="store_true", help="gzip the body (Content-Encoding: gzip)")
    p.add_argument("--service", default="e2e-json")
    p.add_argument("--seed", type=int, default=1, help="id seed, 1..16777215")
    p.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout in seconds")
    p.add_argument("--hold", type=float, default=0.0, metavar="SECONDS",
                   help="after the answer, keep the (keep-alive) connection open this long before exiting; "
                        "announced on stderr as 'send_json: holding the connection open'")
    args = p.parse_args(argv)
    if not 1 <= args.seed <= 0xFFFFFF:
        p.error("--seed must be in 1..16777215")

    import requests

    url = lib.http_signal_url(args.endpoint, args.signal)
    now = time.time_ns()
    build = traces_request if args.signal == "traces" else logs_request
    request = build(args.service, args.seed, now)
    raw = json.dumps(request, separators=(",", ":")).encode()
    body = gzip.compress(raw) if args.gzip else raw
    headers = {"Content-Type": "application/json"}
    if args.gzip:
        headers["Content-Encoding"] = "gzip"

    doc = {
        "ok": False,
        "url": url,
        "signal": args.signal,
        "gzip": args.gzip,
        "request": request,
        "requestBytes": len(raw),
        "bodyBytes": len(body),
        "status": None,
        "responseHeaders": {},
        "responseBody": "",
        "responseJson": None,
        "error": None,
    }
    session = requests.Session()  # keep-alive: the connection outlives the request (see --hold)
    try:
        resp = session.post(url, data=body, headers=headers, timeout=args.timeout)
    except requests.RequestException as exc:
        doc["error"] = f"{type(exc).__name__}: {exc}"
        doc["report"] = expected_report(request, args.signal, url, False, len(body))
        lib.emit(doc)
        print(f"send_json: POST {url} failed: {doc['error']}", file=sys.stderr)
        return lib.EXIT_EXPORT_FAILED
    doc["status"] = resp.status_code
    doc["responseHeaders"] = {k.lower(): v for k, v in resp.headers.items()}
    doc["responseBody"] = resp.text
    try:
        doc["responseJson"] = resp.json()
    except ValueError:
        pass
    doc["ok"] = 200 <= resp.status_code < 300
    doc["report"] = expected_report(request, args.signal, url, doc["ok"], len(body))
    lib.emit(doc)
    if args.hold > 0:
        print(f"send_json: {resp.status_code}; holding the connection open for {args.hold:g}s", file=sys.stderr,
              flush=True)
        time.sleep(args.hold)
    if not doc["ok"]:
        print(f"send_json: POST {url} answered {resp.status_code}: {resp.text[:300]}", file=sys.stderr)
        return lib.EXIT_EXPORT_FAILED
    return lib.EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
