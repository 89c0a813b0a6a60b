"""Pods, namespaces, EndpointSlices and selectors for fake_kube_api.py.

Objects are built with the official Kubernetes client's models and turned into the JSON a real
API server sends with ApiClient().sanitize_for_serialization (camelCase keys; times are RFC3339
UTC with seconds and a 'Z', like metav1.Time). A *spec* is the simple JSON of the control API
(documented in fake_kube_api.py); build_pod / build_namespace / build_endpoint_slice turn one
into such a dict.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid

from kubernetes import client as k

sanitize = k.ApiClient().sanitize_for_serialization
LIST_MODELS = {"Pod": k.V1PodList, "Namespace": k.V1NamespaceList, "EndpointSlice": k.V1EndpointSliceList}
API_VERSIONS = {"Pod": "v1", "Namespace": "v1", "EndpointSlice": "discovery.k8s.io/v1"}
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


class Time(dt.datetime):
    """A UTC time that serializes like metav1.Time ("2024-01-02T03:04:05Z", not "+00:00")."""

    def isoformat(self, *args, **kwargs):
        return self.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_time(value) -> Time:
    """A Time from a Time, epoch seconds or an RFC3339 string."""
    if isinstance(value, Time):
        return value
    if isinstance(value, (int, float)):
        t = dt.datetime.fromtimestamp(value, dt.timezone.utc)
    else:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    return Time(*t.timetuple()[:6], tzinfo=dt.timezone.utc)


def now() -> Time:
    return to_time(dt.datetime.now(dt.timezone.utc).timestamp())


def uid_for(*parts) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "fake-kube/" + "/".join(map(str, parts))))


def hex64(*parts) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the letters Kubernetes uses in generated names


def name_suffix(n: int, width: int = 5) -> str:
    """A generated-name suffix that encodes n (distinct n give distinct suffixes)."""
    out = ""
    for _ in range(width):
        n, r = divmod(n, len(_ALPHABET))
        out = _ALPHABET[r] + out
    return out


def template_hash(deployment: str) -> str:
    return name_suffix(int(hex64("rs", deployment)[:12], 16), 10)


_APPS = {"ReplicaSet": "apps/v1", "DaemonSet": "apps/v1", "StatefulSet": "apps/v1",
         "Deployment": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}


def _owner(spec: dict, ns: str):
    """(ownerReferences, extra labels) for spec["owner"] = {"kind", "name"}, resolved the way the
    controllers do: a Deployment's pods belong to ReplicaSet <deploy>-<pod-template-hash>, a
    CronJob's pods to Job <cronjob>-<scheduled minutes>."""
    owner = spec.get("owner")
    if not owner:
        return None, {}
    kind, name, labels = owner["kind"], owner["name"], {}
    if kind == "Deployment":
        h = owner.get("hash") or template_hash(f"{ns}/{name}")
        kind, name, labels = "ReplicaSet", f"{name}-{h}", {"pod-template-hash": h}
    elif kind == "CronJob":
        digits = owner.get("job_suffix") or 28000000 + int(hex64(ns, name)[:5], 16) % 1000000
        kind, name = "Job", f"{name}-{digits}"
    if kind == "Job":
        labels = {"job-name": name, "batch.kubernetes.io/job-name": name}
    ref = k.V1OwnerReference(api_version=_APPS.get(kind, "v1"), kind=kind, name=name,
                             uid=uid_for(kind, ns, name), controller=True,
                             block_owner_deletion=True)
    return [ref], labels


def build_pod(spec: dict) -> dict:
    """The API JSON of a pod spec (uid, creation_time and _rv are filled in by the store)."""
    ns, name = spec.get("namespace", "default"), spec["name"]
    uid = spec.get("uid") or uid_for("Pod", ns, name)
    created = to_time(spec.get("creation_time") or now())
    started = to_time(spec["start_time"]) if spec.get("start_time") else created
    refs, owner_labels = _owner(spec, ns)
    containers, statuses = [], []
    for c in spec.get("containers") or [{"name": "app", "image": "busybox:1.36"}]:
        cid = c.get("id") or hex64(uid, c["name"])
        containers.append(k.V1Container(name=c["name"], image=c["image"]))
        statuses.append(k.V1ContainerStatus(
            name=c["name"], image=c["image"], ready=True, started=True,
            container_id=cid if "://" in cid else "containerd://" + cid,
            image_id=c.get("image_id") or f"{c['image'].split(':')[0]}@sha256:{hex64(c['image'])}",
            restart_count=c.get("restart_count", 0),
            state=k.V1ContainerState(running=k.V1ContainerStateRunning(started_at=started))))
    phase = spec.get("phase", "Running")
    ips = spec.get("ips") or ([spec["ip"]] if spec.get("ip") else [])
    pod = k.V1Pod(
        api_version="v1", kind="Pod",
        metadata=k.V1ObjectMeta(
            name=name, namespace=ns, uid=uid, resource_version=str(spec["_rv"]),
            creation_timestamp=created, labels={**owner_labels, **(spec.get("labels") or {})} or None,
            annotations=spec.get("annotations") or None, owner_references=refs),
        spec=k.V1PodSpec(node_name=spec.get("node"), host_network=spec.get("host_network") or None,
                         containers=containers, restart_policy="Always",
                         scheduler_name="default-scheduler", service_account_name="default"),
        status=k.V1PodStatus(
            phase=phase, pod_ip=ips[0] if ips else None,
            pod_ips=[k.V1PodIP(ip=ip) for ip in ips] or None,
            host_ip=spec.get("host_ip"), start_time=started,
            container_statuses=statuses if phase != "Pending" else None))
    return sanitize(pod)


def build_namespace(spec: dict) -> dict:
    name = spec["name"]
    ns = k.V1Namespace(
        api_version="v1", kind="Namespace",
        metadata=k.V1ObjectMeta(
            name=name, uid=spec.get("uid") or uid_for("Namespace", name),
            resource_version=str(spec["_rv"]),
            creation_timestamp=to_time(spec.get("creation_time") or now()),
            labels={"kubernetes.io/metadata.name": name, **(spec.get("labels") or {})},
            annotations=spec.get("annotations") or None),
        spec=k.V1NamespaceSpec(finalizers=["kubernetes"]),
        status=k.V1NamespaceStatus(phase=spec.get("phase", "Active")))
    return sanitize(ns)


def _endpoint(spec: dict) -> k.V1Endpoint:
    """One endpoint of a slice: {"ip" | "addresses", "ready": true, "serving" (default: ready),
    "terminating": false, "hostname", "node", "zone", "pod" (a targetRef to that Pod)}."""
    ready = spec.get("ready", True)
    ref = None
    if spec.get("pod"):
        ref = k.V1ObjectReference(kind="Pod", name=spec["pod"], namespace=spec.get("namespace"),
                                  uid=uid_for("Pod", spec.get("namespace", "default"), spec["pod"]))
    return k.V1Endpoint(
        addresses=spec.get("addresses") or [spec["ip"]],
        conditions=k.V1EndpointConditions(ready=ready, serving=spec.get("serving", ready),
                                          terminating=spec.get("terminating", False)),
        hostname=spec.get("hostname"), node_name=spec.get("node"), zone=spec.get("zone"), target_ref=ref)


def endpoint_key(spec: dict) -> str:
    """The first address: what the control API matches endpoints by."""
    return (spec.get("addresses") or [spec["ip"]])[0]


def build_endpoint_slice(spec: dict) -> dict:
    """A discovery.k8s.io/v1 EndpointSlice as the EndpointSlice controller writes it: the
    service-name and managed-by labels, the Service as its controller owner. Spec: {"name",
    "namespace": "default", "service" (default: the name), "address_type" (IPv4, or IPv6 when
    the first address has a colon), "endpoints": [endpoint spec], "ports": [{"name", "port",
    "protocol"}] (default: otlp 4317/TCP), "labels"}."""
    ns, name = spec.get("namespace", "default"), spec["name"]
    service = spec.get("service") or name
    endpoints = [dict(e, namespace=ns) for e in spec.get("endpoints") or []]
    first = endpoint_key(endpoints[0]) if endpoints else ""
    address_type = spec.get("address_type") or ("IPv6" if ":" in first else "IPv4")
    ports = spec.get("ports") or [{"name": "otlp", "port": 4317, "protocol": "TCP"}]
    owner = k.V1OwnerReference(api_version="v1", kind="Service", name=service, uid=uid_for("Service", ns, service),
                               controller=True, block_owner_deletion=True)
    labels = {SERVICE_NAME_LABEL: service, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
              **(spec.get("labels") or {})}
    eps = k.V1EndpointSlice(
        api_version="discovery.k8s.io/v1", kind="EndpointSlice", address_type=address_type,
        metadata=k.V1ObjectMeta(name=name, namespace=ns, uid=spec.get("uid") or uid_for("EndpointSlice", ns, name),
                                resource_version=str(spec["_rv"]),
                                creation_timestamp=to_time(spec.get("creation_time") or now()),
                                labels=labels, owner_references=[owner]),
        endpoints=[_endpoint(e) for e in endpoints],
        ports=[k.DiscoveryV1EndpointPort(name=p.get("name"), port=p.get("port"), protocol=p.get("protocol", "TCP"))
               for p in ports])
    out = sanitize(eps)
    out.setdefault("endpoints", [])  # the API sends "endpoints": [] (or null), never leaves it out
    return out


def bookmark(kind: str, rv: int) -> dict:
    meta = k.V1ObjectMeta(resource_version=str(rv))
    if kind == "EndpointSlice":  # the API server's empty object: addressType "" and no endpoints
        return sanitize(k.V1EndpointSlice(api_version=API_VERSIONS[kind], kind=kind, address_type="", endpoints=[],
                                          metadata=meta))
    model = k.V1Pod if kind == "Pod" else k.V1Namespace
    return sanitize(model(api_version="v1", kind=kind, metadata=meta))


def status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    return sanitize(k.V1Status(api_version="v1", kind="Status", metadata=k.V1ListMeta(),
                               status="Failure", reason=reason, message=message, code=code,
                               details=k.V1StatusDetails(**details) if details else None))


# ------------------------------------------------------------------------------------------
# Selectors, as the API server parses them (the subset collectors use).

class SelectorError(ValueError):
    pass


FIELDS = {
    "Pod": {"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
            "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
            "status.podIP", "status.nominatedNodeName"},
    "Namespace": {"metadata.name", "metadata.namespace", "status.phase"},
    "EndpointSlice": {"metadata.name", "metadata.namespace"},
}


def parse_fields(text: str, kind: str) -> list[tuple[str, bool, str]]:
    """'a=b,c!=d' -> [(path, equal, value)]; '=' and '==' mean equal."""
    out = []
    for term in filter(None, (t.strip() for t in (text or "").split(","))):
        m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(.*)", term)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        if m[1] not in FIELDS[kind]:
            raise SelectorError(f'field label not supported: {m[1]}')
        out.append((m[1], m[2] != "!=", m[3]))
    return out


_LABEL = re.compile(r"\s*(!?)\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*"
                    r"(?:(==|=|!=)\s*([-A-Za-z0-9_.]*)|\s(in|notin)\s*\(([^)]*)\))?\s*")


def parse_labels(text: str) -> list[tuple[str, str, set]]:
    """'k=v,k!=v,k,!k,k in (a,b),k notin (a,b)' -> [(key, op, values)], op one of
    = != exists !exists in notin."""
    out = []
    for term in (t for t in re.split(r",(?![^()]*\))", text or "") if t.strip()):  # commas outside ()
        m = _LABEL.fullmatch(term)
        if not m or (m[1] and (m[3] or m[5])):
            raise SelectorError(f"unable to parse requirement: {term.strip()!r}")
        if m[3]:
            out.append((m[2], "!=" if m[3] == "!=" else "=", {m[4]}))
        elif m[5]:
            out.append((m[2], m[5], {v.strip() for v in m[6].split(",") if v.strip()}))
        else:
            out.append((m[2], "!exists" if m[1] else "exists", set()))
    return out


def field_value(obj: dict, path: str) -> str:
    v = obj
    for part in path.split("."):
        v = v.get(part) if isinstance(v, dict) else None
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


_LABEL_OPS = {"=": lambda v, vs: v in vs, "in": lambda v, vs: v in vs,
              "!=": lambda v, vs: v not in vs, "notin": lambda v, vs: v not in vs,  # absent matches
              "exists": lambda v, vs: v is not None, "!exists": lambda v, vs: v is None}


def matches(obj: dict, fields: list, labels: list) -> bool:
    have = obj["metadata"].get("labels") or {}
    return (all((field_value(obj, path) == value) == equal for path, equal, value in fields)
            and all(_LABEL_OPS[op](have.get(key), values) for key, op, values in labels))


# ------------------------------------------------------------------------------------------
# The scale scenario: node i of N, pod j of M, all deterministic. Only specs are made up front;
# the store builds a pod's object the first time it is read.

SCALE_EPOCH = 1704067200  # 2024-01-01T00:00:00Z
SCALE_NAMESPACES = 10


def scale_node(i: int) -> str:
    return f"node-{i:04d}"


def scale_pod_spec(i: int, j: int, per_node: int) -> dict:
    ns, node, n = f"scale-{j % SCALE_NAMESPACES}", scale_node(i), i * per_node + j
    kind, owner = [("Deployment", f"app-{j:02d}"), ("DaemonSet", f"agent-{j:02d}"),
                   ("StatefulSet", f"db-{j:02d}"), ("CronJob", f"report-{j:02d}")][j % 4]
    name = {"Deployment": f"{owner}-{template_hash(f'{ns}/{owner}')}-{name_suffix(i)}",
            "DaemonSet": f"{owner}-{name_suffix(i)}", "StatefulSet": f"{owner}-{i}",
            "CronJob": f"{owner}-{28000000 + i}-{name_suffix(j)}"}[kind]
    return {"name": name, "namespace": ns, "node": node,
            "ip": f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}",
            "owner": {"kind": kind, "name": owner, "job_suffix": 28000000 + i},
            "labels": {"app": owner, "scale/index": str(j)},
            "annotations": {"scale/node-index": str(i)},
            "containers": [{"name": "main", "image": f"registry.local/{owner}:1.{j % 7}"}],
            "creation_time": Time.fromtimestamp(SCALE_EPOCH + n, dt.timezone.utc)}
