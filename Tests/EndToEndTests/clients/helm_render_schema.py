"""Schema checks for rendered Kubernetes objects (used by helm_render_check.py).

Core kinds are checked against the official Kubernetes client's models (kubernetes==37.0.2 in
requirements.txt): `ApiClient().deserialize` builds the model, which checks types and required
fields (the models are strict pydantic models), and `unknown_fields` walks the object against
the models' `attribute_map` / `openapi_types`, since deserializing drops keys a model does not
know. The Prometheus Operator's kinds (ServiceMonitor, PrometheusRule) are checked against the
small schemas pinned below, written from the monitoring.coreos.com/v1 CRDs: every field they
allow is listed, and anything else is an error.

`problems(obj)` returns a list of messages, empty when the object is valid.
"""
import json
import re

import kubernetes.client as k8s

MODELS = {
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Service"): "V1Service",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("apps/v1", "StatefulSet"): "V1StatefulSet",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
    ("networking.k8s.io/v1", "NetworkPolicy"): "V1NetworkPolicy",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2HorizontalPodAutoscaler",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}

_API = k8s.ApiClient()
_NATIVE = set(k8s.ApiClient.NATIVE_TYPES_MAPPING)


def unknown_fields(obj, type_name, path):
    """Keys of `obj` that the model `type_name` (an openapi_types string) does not have, and nulls."""
    optional = re.fullmatch(r"Optional\[(.*)\]", type_name)
    if optional:
        type_name = optional.group(1)
    if type_name.startswith("List["):
        if not isinstance(obj, list):
            return [f"{path}: expected a list"]
        return [p for i, item in enumerate(obj) for p in unknown_fields(item, type_name[5:-1], f"{path}[{i}]")]
    if type_name.startswith("Dict["):
        if not isinstance(obj, dict):
            return [f"{path}: expected a map"]
        value_type = re.fullmatch(r"Dict\[[^,]*, (.*)\]", type_name).group(1)
        return [p for key, value in obj.items() for p in unknown_fields(value, value_type, f"{path}.{key}")]
    if type_name in _NATIVE:
        return []  # the types of scalars are the model's own check
    model = getattr(k8s.models, type_name)
    if not isinstance(obj, dict):
        return [f"{path}: expected an object ({type_name})"]
    attributes = {json_name: attr for attr, json_name in model.attribute_map.items()}
    out = []
    for key, value in obj.items():
        if key not in attributes:
            out.append(f"{path}.{key}: not a field of {type_name}")
        elif value is None:
            out.append(f"{path}.{key}: null")
        else:
            out += unknown_fields(value, model.openapi_types[attributes[key]], f"{path}.{key}")
    return out


def model_problems(obj, model_name):
    try:
        _API.deserialize(json.dumps(obj), model_name, "application/json")
    except Exception as exc:  # pydantic's ValidationError names the field and the type
        return [f"{model_name}: {exc}"]
    return unknown_fields(obj, model_name, obj.get("kind", model_name))


# -- names (the API server's rules, which the models do not check) -------------------------------

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def name_problems(obj):
    meta = obj.get("metadata") or {}
    out = []
    name = meta.get("name", "")
    if not (_DNS_SUBDOMAIN.fullmatch(name) and len(name) <= 253):
        out.append(f"metadata.name {name!r} is not a DNS subdomain")
    if obj.get("kind") in ("Service", "DaemonSet", "Deployment", "StatefulSet") and not (
            _DNS_LABEL.fullmatch(name) and len(name) <= 63):
        out.append(f"metadata.name {name!r} is not a DNS label")
    namespaced = obj.get("kind") not in CLUSTER_SCOPED
    if namespaced != ("namespace" in meta):
        out.append("metadata.namespace " + ("missing" if namespaced else "set on a cluster-scoped kind"))
    for where, labels in [("metadata.labels", meta.get("labels") or {}),
                          ("spec.template.metadata.labels",
                           ((obj.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {})]:
        for key, value in labels.items():
            prefix, _, base = key.rpartition("/")
            if not (_QUALIFIED_NAME.fullmatch(base) and len(base) <= 63) or (prefix and not _DNS_SUBDOMAIN.fullmatch(prefix)):
                out.append(f"{where}: bad key {key!r}")
            if not (isinstance(value, str) and _LABEL_VALUE.fullmatch(value) and len(value) <= 63):
                out.append(f"{where}.{key}: bad value {value!r}")
    for key, value in (meta.get("annotations") or {}).items():
        if not isinstance(value, str):
            out.append(f"metadata.annotations.{key}: {value!r} is not a string")
    return out


# -- the Prometheus Operator's kinds (monitoring.coreos.com/v1), pinned ---------------------------

_DURATION = {"type": "string", "pattern": r"(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)"}
_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_STRING_MAP = {"type": "object", "additionalProperties": _STRING}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_ANY_OBJECT = {"type": "object", "additionalProperties": True}
_LABEL_NAME = {"type": "string", "pattern": r"[a-zA-Z_][a-zA-Z0-9_]*"}
_RELABEL = {"type": "object", "properties": {
    "action": {"type": "string", "enum": [
        "replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod", "labelmap", "LabelMap",
        "labeldrop", "LabelDrop", "labelkeep", "LabelKeep", "lowercase", "Lowercase", "uppercase", "Uppercase",
        "keepequal", "KeepEqual", "dropequal", "DropEqual"]},
    "modulus": _INT, "regex": _STRING, "replacement": _STRING, "separator": _STRING,
    "sourceLabels": {"type": "array", "items": _LABEL_NAME}, "targetLabel": _STRING}}
_LABEL_SELECTOR = {"type": "object", "properties": {
    "matchLabels": _STRING_MAP,
    "matchExpressions": {"type": "array", "items": {"type": "object", "required": ["key", "operator"], "properties": {
        "key": _STRING, "operator": _STRING, "values": _STRINGS}}}}}
_ENDPOINT = {"type": "object", "properties": {
    "port": _STRING, "targetPort": {"int-or-string": True}, "path": _STRING,
    "scheme": {"type": "string", "enum": ["http", "https", "HTTP", "HTTPS"]},
    "params": {"type": "object", "additionalProperties": _STRINGS},
    "interval": _DURATION, "scrapeTimeout": _DURATION, "honorLabels": _BOOL, "honorTimestamps": _BOOL,
    "trackTimestampsStaleness": _BOOL, "followRedirects": _BOOL, "enableHttp2": _BOOL, "filterRunning": _BOOL,
    "proxyUrl": _STRING, "bearerTokenFile": _STRING, "bearerTokenSecret": _ANY_OBJECT, "authorization": _ANY_OBJECT,
    "basicAuth": _ANY_OBJECT, "oauth2": _ANY_OBJECT, "tlsConfig": _ANY_OBJECT,
    "relabelings": {"type": "array", "items": _RELABEL}, "metricRelabelings": {"type": "array", "items": _RELABEL}}}
_RULE = {"type": "object", "required": ["expr"], "properties": {
    "alert": _STRING, "record": _STRING, "expr": {"int-or-string": True}, "for": _DURATION,
    "keep_firing_for": _DURATION, "labels": _STRING_MAP, "annotations": _STRING_MAP}}
_RULE_GROUP = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "minLength": 1}, "interval": _DURATION, "query_offset": _DURATION, "limit": _INT,
    "partial_response_strategy": _STRING, "labels": _STRING_MAP, "rules": {"type": "array", "items": _RULE}}}


def _crd(kind, spec):
    return {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "properties": {
        "apiVersion": {"type": "string", "enum": ["monitoring.coreos.com/v1"]},
        "kind": {"type": "string", "enum": [kind]}, "metadata": {"model": "V1ObjectMeta"}, "spec": spec}}


CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): _crd("ServiceMonitor", {
        "type": "object", "required": ["selector"], "properties": {
            "endpoints": {"type": "array", "items": _ENDPOINT}, "selector": _LABEL_SELECTOR,
            "namespaceSelector": {"type": "object", "properties": {"any": _BOOL, "matchNames": _STRINGS}},
            "jobLabel": _STRING, "targetLabels": _STRINGS, "podTargetLabels": _STRINGS, "sampleLimit": _INT,
            "targetLimit": _INT, "labelLimit": _INT, "labelNameLengthLimit": _INT, "labelValueLengthLimit": _INT,
            "keepDroppedTargets": _INT, "attachMetadata": _ANY_OBJECT, "scrapeClass": _STRING,
            "scrapeProtocols": _STRINGS, "bodySizeLimit": _STRING}}),
    ("monitoring.coreos.com/v1", "PrometheusRule"): _crd("PrometheusRule", {
        "type": "object", "properties": {"groups": {"type": "array", "items": _RULE_GROUP}}}),
}


def schema_problems(obj, schema, path):
    if "model" in schema:
        return model_problems(obj, schema["model"])
    if schema.get("int-or-string"):
        ok = isinstance(obj, str) or (isinstance(obj, int) and not isinstance(obj, bool))
        return [] if ok else [f"{path}: expected an integer or a string"]
    kind = schema["type"]
    python = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}[kind]
    if not isinstance(obj, python) or (kind == "integer" and isinstance(obj, bool)):
        return [f"{path}: expected {kind}, got {obj!r}"]
    out = []
    if kind == "string":
        if "enum" in schema and obj not in schema["enum"]:
            out.append(f"{path}: {obj!r} is not one of {schema['enum']}")
        if "pattern" in schema and not re.fullmatch(schema["pattern"], obj):
            out.append(f"{path}: {obj!r} does not match {schema['pattern']}")
        if len(obj) < schema.get("minLength", 0):
            out.append(f"{path}: empty")
    elif kind == "array":
        for i, item in enumerate(obj):
            out += schema_problems(item, schema["items"], f"{path}[{i}]")
    elif kind == "object":
        for key in schema.get("required", []):
            if key not in obj:
                out.append(f"{path}.{key}: required")
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties", False)
        for key, value in obj.items():
            if key in properties:
                out += schema_problems(value, properties[key], f"{path}.{key}")
            elif extra is True:
                continue
            elif extra:
                out += schema_problems(value, extra, f"{path}.{key}")
            else:
                out.append(f"{path}.{key}: not a field")
    return out


def problems(obj):
    """Everything wrong with one rendered object, by its apiVersion and kind."""
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key in MODELS:
        out = model_problems(obj, MODELS[key])
    elif key in CRD_SCHEMAS:
        out = schema_problems(obj, CRD_SCHEMAS[key], obj["kind"])
        if key[1] == "PrometheusRule":
            for group in obj["spec"].get("groups", []):
                for rule in group.get("rules", []):
                    if ("alert" in rule) == ("record" in rule):
                        out.append(f"group {group['name']}: a rule needs exactly one of alert and record: {rule}")
    else:
        return [f"no schema for {key}"]
    return out + name_problems(obj)
