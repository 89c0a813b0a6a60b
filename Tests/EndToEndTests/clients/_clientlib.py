"""Shared helpers for the end-to-end client scripts in this folder.

Every script prints exactly ONE JSON document on stdout describing what it sent, and
diagnostics on stderr. The JSON is derived from the protobuf request the SDK encoded (the
same encoder the OTLP exporters use), so it describes the bytes on the wire, not what the
script meant to send.

Value encoding used in the JSON (attributes, log bodies):
    {"type": "string", "value": "x"}
    {"type": "bool",   "value": true}
    {"type": "int",    "value": 9007199254740993}      (a JSON integer, exact)
    {"type": "double", "value": 2.5}
    {"type": "bytes",  "value": "00ff"}                 (lower-case hex)
    {"type": "array",  "value": [<typed value>, ...]}
    {"type": "kvlist", "value": [{"key": k, "type": ..., "value": ...}, ...]}
    {"type": "empty",  "value": null}
An attribute is the typed value plus "key".

Ids are lower-case hex ("" when absent); times are integers in ns since the epoch.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from urllib.parse import urlparse

# Exit codes shared by all scripts.
EXIT_OK = 0
EXIT_EXPORT_FAILED = 1
EXIT_USAGE = 2  # argparse's own code for bad arguments

# OTLP enum names, indexed by the wire value.
OTLP_SPAN_KINDS = [
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
]
OTLP_STATUS_CODES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]


# --------------------------------------------------------------------------------------------
# Logging: SDK warnings/errors go to stderr and are also collected for the JSON report.


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []
        self._mu = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = f"{record.levelname} {record.name}: {record.getMessage()}"
        except Exception:  # noqa: BLE001 - never let logging break the client
            msg = f"{record.levelname} {record.name}: <unformattable message>"
        with self._mu:
            self.messages.append(msg)


SDK_LOG = _Collector()


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger().addHandler(SDK_LOG)


# --------------------------------------------------------------------------------------------
# Endpoints


def grpc_endpoint(endpoint: str) -> str:
    """'127.0.0.1:4317' or 'http://127.0.0.1:4317' -> 'http://127.0.0.1:4317' (insecure)."""
    if "://" not in endpoint:
        endpoint = "http://" + endpoint
    return endpoint.rstrip("/")


def http_signal_url(endpoint: str, signal: str) -> str:
    """Base URL -> full signal URL ('http://h:4318' -> 'http://h:4318/v1/traces').

    A URL that already has a path other than '/' is used as is.
    """
    if "://" not in endpoint:
        endpoint = "http://" + endpoint
    parsed = urlparse(endpoint)
    if parsed.path in ("", "/"):
        return endpoint.rstrip("/") + f"/v1/{signal}"
    return endpoint


# --------------------------------------------------------------------------------------------
# Deterministic ids


def make_id_generator(seed: int):
    """An IdGenerator whose ids depend only on the seed and the call order.

    trace id: a1 | 000000 | seed (32 bits) | n (64 bits), e.g. a1000000000000010000000000000001
    span id:  b2 | seed (24 bits) | n (32 bits),           e.g. b200000100000001
    The top bit is set on purpose (catches signed-integer handling of ids).
    """
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    seed &= 0xFFFFFF

    class SequentialIdGenerator(IdGenerator):
        def __init__(self) -> None:
            self._mu = threading.Lock()
            self._traces = 0
            self._spans = 0

        def generate_trace_id(self) -> int:
            with self._mu:
                self._traces += 1
                return (0xA1 << 120) | (seed << 64) | self._traces

        def generate_span_id(self) -> int:
            with self._mu:
                self._spans += 1
                return (0xB2 << 56) | (seed << 32) | (self._spans & 0xFFFFFFFF)

        def is_trace_id_random(self) -> bool:
            return False

    return SequentialIdGenerator()


# --------------------------------------------------------------------------------------------
# Protobuf -> JSON report


def hexid(b: bytes) -> str:
    return b.hex() if b else ""


def typed_value(v) -> dict:
    """opentelemetry.proto.common.v1.AnyValue -> typed JSON value (see module doc)."""
    which = v.WhichOneof("value")
    if which == "string_value":
        return {"type": "string", "value": v.string_value}
    if which == "bool_value":
        return {"type": "bool", "value": v.bool_value}
    if which == "int_value":
        return {"type": "int", "value": int(v.int_value)}
    if which == "double_value":
        return {"type": "double", "value": v.double_value}
    if which == "bytes_value":
        return {"type": "bytes", "value": v.bytes_value.hex()}
    if which == "array_value":
        return {"type": "array", "value": [typed_value(x) for x in v.array_value.values]}
    if which == "kvlist_value":
        return {"type": "kvlist", "value": attributes(v.kvlist_value.values)}
    return {"type": "empty", "value": None}


def attributes(kvs) -> list[dict]:
    return [{"key": kv.key, **typed_value(kv.value)} for kv in kvs]


def resource_json(resource, schema_url: str) -> dict:
    return {
        "attributes": attributes(resource.attributes),
        "droppedAttributesCount": resource.dropped_attributes_count,
        "schemaUrl": schema_url,
    }


def scope_json(scope, schema_url: str) -> dict:
    return {
        "name": scope.name,
        "version": scope.version,
        "attributes": attributes(scope.attributes),
        "droppedAttributesCount": scope.dropped_attributes_count,
        "schemaUrl": schema_url,
    }


def span_json(s) -> dict:
    kind = int(s.kind)
    code = int(s.status.code)
    return {
        "traceId": hexid(s.trace_id),
        "spanId": hexid(s.span_id),
        "parentSpanId": hexid(s.parent_span_id),
        "traceState": s.trace_state,
        "flags": s.flags,
        "name": s.name,
        "kind": kind,
        "kindName": OTLP_SPAN_KINDS[kind] if kind < len(OTLP_SPAN_KINDS) else str(kind),
        "startTimeUnixNano": int(s.start_time_unix_nano),
        "endTimeUnixNano": int(s.end_time_unix_nano),
        "status": {
            "code": code,
            "codeName": OTLP_STATUS_CODES[code] if code < len(OTLP_STATUS_CODES) else str(code),
            "message": s.status.message,
        },
        "attributes": attributes(s.attributes),
        "droppedAttributesCount": s.dropped_attributes_count,
        "events": [
            {
                "name": e.name,
                "timeUnixNano": int(e.time_unix_nano),
                "attributes": attributes(e.attributes),
                "droppedAttributesCount": e.dropped_attributes_count,
            }
            for e in s.events
        ],
        "droppedEventsCount": s.dropped_events_count,
        "links": [
            {
                "traceId": hexid(link.trace_id),
                "spanId": hexid(link.span_id),
                "traceState": link.trace_state,
                "flags": link.flags,
                "attributes": attributes(link.attributes),
                "droppedAttributesCount": link.dropped_attributes_count,
            }
            for link in s.links
        ],
        "droppedLinksCount": s.dropped_links_count,
    }


def log_json(r) -> dict:
    return {
        "timeUnixNano": int(r.time_unix_nano),
        "observedTimeUnixNano": int(r.observed_time_unix_nano),
        "severityNumber": int(r.severity_number),
        "severityText": r.severity_text,
        "body": typed_value(r.body),
        "attributes": attributes(r.attributes),
        "droppedAttributesCount": r.dropped_attributes_count,
        "flags": r.flags,
        "traceId": hexid(r.trace_id),
        "spanId": hexid(r.span_id),
        "eventName": r.event_name,
    }


class Report:
    """Accumulates what was exported (as encoded protobuf) and renders the JSON report."""

    def __init__(self, signal: str, protocol: str, endpoint: str) -> None:
        self.signal = signal
        self.protocol = protocol
        self.endpoint = endpoint
        self.exports: list[dict] = []
        self.resources: list[dict] = []  # distinct resources, in order of first appearance
        self.scopes: list[dict] = []  # distinct scopes, in order of first appearance
        self.items: list[dict] = []
        self.errors: list[str] = []
        self._mu = threading.Lock()

    def _index(self, table: list[dict], entry: dict) -> int:
        for i, existing in enumerate(table):
            if existing == entry:
                return i
        table.append(entry)
        return len(table) - 1

    def add_trace_request(self, req, result: str, started: float, error: str | None = None) -> None:
        with self._mu:
            n = 0
            for rs in req.resource_spans:
                ri = self._index(self.resources, resource_json(rs.resource, rs.schema_url))
                for ss in rs.scope_spans:
                    si = self._index(self.scopes, scope_json(ss.scope, ss.schema_url))
                    for s in ss.spans:
                        item = span_json(s)
                        item["resourceIndex"] = ri
                        item["scopeIndex"] = si
                        item["exportIndex"] = len(self.exports)
                        self.items.append(item)
                        n += 1
            self._add_export(n, req.ByteSize(), result, started, error)

    def add_logs_request(self, req, result: str, started: float, error: str | None = None) -> None:
        with self._mu:
            n = 0
            for rl in req.resource_logs:
                ri = self._index(self.resources, resource_json(rl.resource, rl.schema_url))
                for sl in rl.scope_logs:
                    si = self._index(self.scopes, scope_json(sl.scope, sl.schema_url))
                    for r in sl.log_records:
                        item = log_json(r)
                        item["resourceIndex"] = ri
                        item["scopeIndex"] = si
                        item["exportIndex"] = len(self.exports)
                        self.items.append(item)
                        n += 1
            self._add_export(n, req.ByteSize(), result, started, error)

    def _add_export(self, n: int, size: int, result: str, started: float, error: str | None) -> None:
        self.exports.append(
            {
                "items": n,
                "bytes": size,
                "result": result,
                "seconds": round(time.monotonic() - started, 3),
                **({"error": error} if error else {}),
            }
        )

    def ok(self) -> bool:
        return not self.errors and bool(self.exports) and all(e["result"] == "SUCCESS" for e in self.exports)

    def render(self, extra: dict | None = None) -> dict:
        key = "spans" if self.signal == "traces" else "logRecords"
        doc = {
            "ok": self.ok(),
            "signal": self.signal,
            "protocol": self.protocol,
            "endpoint": self.endpoint,
            "errors": self.errors,
            "sdkLog": list(SDK_LOG.messages),
            "exports": self.exports,
            "resource": self.resources[0] if self.resources else None,
            "scope": self.scopes[0] if self.scopes else None,
            "resources": self.resources,
            "scopes": self.scopes,
            "count": len(self.items),
            "traceIds": sorted({i["traceId"] for i in self.items if i["traceId"]}),
            key: self.items,
        }
        if extra:
            doc.update(extra)
        return doc


def flatten_metrics(req) -> list[str]:
    """One canonical JSON string per data point of an ExportMetricsServiceRequest: its
    resource's service.name, scope name, metric name, unit, kind, temporality and monotonicity,
    and the point itself (protobuf's MessageToDict, so every field of it). Two requests carry
    the same points exactly when their sorted lists are equal, however resources were merged
    or split on the way."""
    from google.protobuf import json_format

    out = []
    for rm in req.resource_metrics:
        service = next((kv.value.string_value for kv in rm.resource.attributes if kv.key == "service.name"), "")
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                if kind is None:
                    continue
                data = getattr(m, kind)
                for point in data.data_points:
                    out.append(json.dumps({
                        "service": service, "scope": sm.scope.name, "name": m.name, "unit": m.unit, "kind": kind,
                        "temporality": getattr(data, "aggregation_temporality", 0),
                        "monotonic": getattr(data, "is_monotonic", False),
                        "point": json_format.MessageToDict(point),
                    }, sort_keys=True, separators=(",", ":")))
    return out


def make_recording_exporter(base_cls, inner, encode, add, success, failure, stop_after_failure=True):
    """Wrap an SDK exporter: encode each batch (as the exporter does), forward it, record the result.

    After the first failure, later batches are not sent (reported as SKIPPED) so a dead endpoint
    costs one exporter timeout, not one per batch.
    """

    class RecordingExporter(base_cls):
        def __init__(self) -> None:
            self.inner = inner
            self.failed = False

        def export(self, batch: Sequence):
            started = time.monotonic()
            batch = list(batch)
            req = encode(batch)
            if self.failed and stop_after_failure:
                add(req, "SKIPPED", started, "not sent: an earlier export failed")
                return failure
            error = None
            try:
                result = self.inner.export(batch)
            except Exception as exc:  # noqa: BLE001 - report, don't crash the worker thread
                result = failure
                error = f"{type(exc).__name__}: {exc}"
            if result != success:
                self.failed = True
            add(req, "SUCCESS" if result == success else "FAILURE", started, error)
            return result

        def shutdown(self, *args, **kwargs):
            return self.inner.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return self.inner.force_flush(timeout_millis)

    return RecordingExporter()


class Recording:
    """An exporter wrapper that remembers whether every export returned `success` (for the
    one-shot clients that print only ok/not ok)."""

    def __init__(self, inner, success):
        self.inner, self.success, self.ok = inner, success, True

    def export(self, batch):
        result = self.inner.export(batch)
        if result != self.success:
            self.ok = False
        return result

    def shutdown(self, *a, **k):
        return self.inner.shutdown(*a, **k)

    def force_flush(self, timeout_millis: int = 30000):
        return True


def emit(doc: dict) -> None:
    sys.stdout.write(json.dumps(doc, indent=None, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def fail_message(doc: dict) -> str:
    sdk_log = doc.get("sdkLog", [])
    reasons = [m for m in sdk_log if m.startswith("ERROR")]
    reasons += [m for m in sdk_log if m.startswith("WARNING")][-1:]  # the last transient error
    reasons += [e["error"] for e in doc["exports"] if e["result"] == "FAILURE" and e.get("error")]
    reasons += doc["errors"]
    if not doc["exports"]:
        reasons.append("nothing was exported")
    seen: list[str] = []
    for r in reasons:
        if r not in seen:
            seen.append(r)
    return "; ".join(seen[:5]) or "export failed"
