#!/usr/bin/env python3
"""Renders the Helm chart deploy/helm/collectord with the real Helm and checks what comes out.

Helm is Helm's Go SDK (the helm-python-sdk wheel in .venv, through scripts/helm.py's `helm
template`), or the helm binary named by $HELM. The cases: daemonset with the default values,
daemonset with the presets off, deployment, statefulset, the presets on with the
ServiceMonitor, PrometheusRule and NetworkPolicy, a `config` merged over the presets, the
EndpointSlices rule asked for, the gateway tier (a gateway StatefulSet with presets.gateway,
an HPA, a PDB, the headless Service and the monitoring objects; a gateway Deployment with the
HPA on CPU; an agent with presets.loadBalancing); sets of values the chart must refuse; and
configs with `k8s` resolvers, whose ClusterRole alone is checked (RESOLVER_CASES). For each
rendered object:

- its schema: core kinds deserialized with the official Kubernetes client's models (types and
  required fields) plus a walk that rejects every key a model does not know; the ServiceMonitor
  and PrometheusRule against schemas pinned in helm_render_schema.py; names and labels as the
  API server checks them;
- references: volumes, selectors, Service target ports, the ServiceAccount, the ClusterRole;
- content: the ClusterRole is exactly get/list/watch on pods and namespaces (kubernetesAttributes)
  and on discovery.k8s.io EndpointSlices (a k8s resolver), nothing more; K8S_NODE_NAME comes
  from spec.nodeName; OTLP hostPorts in daemonset mode only; /var/log/pods read-only; the
  containers run as non-root on a read-only root with every capability dropped; the collector
  config holds the presets' components, `config` merged over them, only env variables the
  pod sets, state only under the state volume, the ports the pod opens;
- the gateway tier: the headless Service (clusterIP None, ready pods only, no metrics port, the
  StatefulSet's serviceName), the gateway preset's store and query peers on that Service's DNS
  name, the HPA's target and metrics, the PDB, no `replicas` under an HPA, the agent preset's
  loadbalancing exporter (DNS resolver, insecure OTLP, disk queue on the node); the drain
  chain: --shutdown-timeout, the gateways' preStop sleep, a grace period covering both;
- the PrometheusRule's groups with `promtool check rules` and `promtool test rules` (the
  alerts fire on collectord-shaped series, and only there), its metrics among those collectord
  registers (read from Sources/);
- deploy/kubernetes/daemonset.yaml is the default render (deploy/render.sh); `helm lint --strict`;
- with --collectord PATH, every rendered config passes `PATH validate --config FILE`, with the
  pod's environment, and every flag the container passes is one `PATH run --help` lists.

    .venv/bin/python Tests/EndToEndTests/clients/helm_render_check.py [--collectord .build/debug/collectord]

Prints one line per check and "N passed, N failed"; exits 1 on any failure.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

import yaml

import helm_render_schema as schema
from helm_render_rules import check_rules

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CHART = os.path.join(ROOT, "deploy", "helm", "collectord")
NAMESPACE, RELEASE = "observability", "collectord"
WORKLOADS = ("DaemonSet", "Deployment", "StatefulSet")

OFF = {"presets": {"logsCollection": {"enabled": False}, "kubernetesAttributes": {"enabled": False}}}
ON = {"presets": {"logsCollection": {"enabled": True}, "kubernetesAttributes": {"enabled": True}}}
GATEWAY_SERVICE = "collectord-gateway-headless.observability.svc.cluster.local"
STATE_CLAIM = {"volumeClaimTemplates": [{"metadata": {"name": "state"}, "spec": {
    "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}
GATEWAY_PRESETS = {"logsCollection": {"enabled": False}, "kubernetesAttributes": {"enabled": False},
                   "gateway": {"enabled": True}}
SCALE_DOWN = {"scaleDown": {"stabilizationWindowSeconds": 600,
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}]}}
CASES = {
    "daemonset default": {},
    "daemonset, presets off": OFF,
    "deployment": {"mode": "deployment", "presets": {"logsCollection": {"enabled": False}}},
    "statefulset": {"mode": "statefulset", "presets": {"logsCollection": {"enabled": False}},
                    "statefulset": {"volumeClaimTemplates": [{"metadata": {"name": "state"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}},
    "presets on, monitoring": {**ON, "serviceMonitor": {"enabled": True}, "networkPolicy": {"enabled": True},
                               "prometheusRule": {"enabled": True, "slo": {"enabled": True, "services": [
                                   {"service": "checkout", "objective": 99.9, "latencyMs": 300},
                                   {"service": "payments", "objective": 99}]}}},
    "config merged over the presets": {"config": {
        "receivers": {"filelog": {"start_at": "beginning", "include_file_path": False}},
        "processors": {"batch": {"send_batch_size": 4096, "timeout": "1s"}},
        "exporters": {"debug": None, "nop": {}},
        "service": {"pipelines": {"traces": {"exporters": ["nop"]}}}}},
    "EndpointSlices rule asked for, presets off": {**OFF, "clusterRole": {"endpointSlices": True}},
    "gateway statefulset, HPA, PDB": {
        "mode": "statefulset", "presets": GATEWAY_PRESETS,
        "statefulset": {**STATE_CLAIM, "persistentVolumeClaimRetentionPolicy": {"enabled": True, "whenScaled": "Delete"}},
        "autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 12, "targetMemoryUtilizationPercentage": 75,
                        "behavior": SCALE_DOWN},
        "podDisruptionBudget": {"enabled": True, "minAvailable": 2},
        "serviceMonitor": {"enabled": True}, "networkPolicy": {"enabled": True}},
    "gateway deployment, HPA on CPU": {
        "mode": "deployment", "presets": GATEWAY_PRESETS, "autoscaling": {"enabled": True},
        "podDisruptionBudget": {"enabled": True}},
    "agent with presets.loadBalancing": {
        "presets": {"loadBalancing": {"enabled": True, "gatewayService": GATEWAY_SERVICE}},
        "config": {"service": {"pipelines": {"traces": {"exporters": []}}}}},
}
GATEWAY_MODE = {"mode": "statefulset", "presets": {"logsCollection": {"enabled": False}}}
REFUSED = {
    "deployment with logsCollection": ({"mode": "deployment"}, "needs mode daemonset"),
    "an unknown mode": ({"mode": "sidecar"}, "mode must be daemonset, deployment or statefulset"),
    "clusterRole.endpointSlices not auto/true/false": ({"clusterRole": {"endpointSlices": "sometimes"}},
                                                       "clusterRole.endpointSlices must be auto, true or false (is sometimes)"),
    "loadBalancing without gatewayService": ({"presets": {"loadBalancing": {"enabled": True}}},
                                             "presets.loadBalancing needs presets.loadBalancing.gatewayService"),
    "loadBalancing without a traces pipeline": (
        {"presets": {"loadBalancing": {"enabled": True, "gatewayService": GATEWAY_SERVICE}},
         "config": {"service": {"pipelines": {"traces": None}}}},
        "presets.loadBalancing adds loadbalancing to the traces pipeline: config.service.pipelines.traces must exist"),
    "the gateway preset in daemonset mode": ({"presets": {"logsCollection": {"enabled": False}, "gateway": {"enabled": True}}},
                                             "presets.gateway needs mode deployment or statefulset"),
    "the gateway preset without the headless Service": (
        {**GATEWAY_MODE, "presets": GATEWAY_PRESETS, "headlessService": {"enabled": False}},
        "presets.gateway's query peers resolve the headless Service"),
    "autoscaling a DaemonSet": ({"autoscaling": {"enabled": True}}, "autoscaling needs mode deployment or statefulset"),
    "autoscaling on CPU without a CPU request": ({**GATEWAY_MODE, "autoscaling": {"enabled": True},
                                                 "resources": {"requests": {"cpu": None}}},
                                                "set resources.requests.cpu"),
    "autoscaling with minReplicas over maxReplicas": ({**GATEWAY_MODE, "autoscaling": {"enabled": True, "minReplicas": 5,
                                                                                       "maxReplicas": 3}},
                                                      "autoscaling.minReplicas (5) is more than autoscaling.maxReplicas (3)"),
    "a PDB with minAvailable and maxUnavailable": ({**GATEWAY_MODE, "podDisruptionBudget": {
        "enabled": True, "minAvailable": 1, "maxUnavailable": 1}}, "one of minAvailable and maxUnavailable, not both"),
    "a PDB on a DaemonSet": ({"podDisruptionBudget": {"enabled": True}}, "podDisruptionBudget needs mode deployment or statefulset"),
    "a grace period shorter than the drain": ({**GATEWAY_MODE, "terminationGracePeriodSeconds": 30},
                                              "terminationGracePeriodSeconds (30) is less than the preStop sleep (15 s) + "
                                              "shutdown.timeoutSeconds (20)"),
    "--shutdown-timeout in extraArgs": ({"command": {"extraArgs": ["--shutdown-timeout=5s"]}},
                                        "set shutdown.timeoutSeconds instead of --shutdown-timeout"),
}
# Configs with a `k8s` resolver and clusterRole.endpointSlices auto (the default) or false: the
# ClusterRole's rules only (name -> (values, kubernetesAttributes rule, EndpointSlices rule)).
# Not in CASES: `collectord validate` does not know these components' resolver keys yet.
_LB_K8S = {"loadbalancing/gw": {"routing_key": "traceID", "protocol": {"otlp": {"tls": {"insecure": True}}},
                                "resolver": {"k8s": {"service": "collectord-gateway.observability", "ports": [4317]}}}}
RESOLVER_CASES = {
    "a loadbalancing exporter with resolver.k8s, presets off": (
        {**OFF, "mode": "deployment", "config": {"exporters": _LB_K8S}}, False, True),
    "the query extension's peers.k8s, presets on": (
        {"config": {"extensions": {"query": {"peers": {"k8s": {"service": "collectord-gateway"}}}}}}, True, True),
    "a loadbalancing exporter with resolver.dns, presets off": (
        {**OFF, "config": {"exporters": {"loadbalancing": {"resolver": {"dns": {"hostname": "gw"}}}}}}, False, False),
    "resolver.k8s with clusterRole.endpointSlices false": (
        {**OFF, "clusterRole": {"endpointSlices": False}, "config": {"exporters": _LB_K8S}}, False, False),
}
POD_RULE = {"apiGroups": [""], "resources": ["namespaces", "pods"], "verbs": ["get", "list", "watch"]}
SLICE_RULE = {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]}
K8S_METADATA = ["k8s.namespace.name", "k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name",
                "k8s.cronjob.name", "k8s.job.name", "k8s.node.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.start_time"]


def helm_command():
    if os.environ.get("HELM"):
        return [os.environ["HELM"]]
    try:
        import helm_python  # noqa: F401  (the SDK the wheel installs into the venv)
    except ImportError:
        raise SystemExit("helm_render_check: no Helm: `make venv` installs helm-python-sdk (or set HELM to a helm binary)")
    return [sys.executable, os.path.join(ROOT, "scripts", "helm.py")]


def helm_template(values, tmp):
    path = os.path.join(tmp, "values.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(values, f)
    return subprocess.run(helm_command() + ["template", RELEASE, CHART, "--namespace", NAMESPACE, "-f", path],
                          capture_output=True, text=True, timeout=120)


class Render:
    """One `helm template` output, parsed."""

    def __init__(self, text):
        self.objects = [d for d in yaml.safe_load_all(text) if d]
        self.by_kind = {}
        for obj in self.objects:
            self.by_kind.setdefault(obj["kind"], []).append(obj)

    def kinds(self):
        return sorted(self.by_kind)

    def one(self, kind):
        objs = self.by_kind.get(kind, [])
        assert len(objs) == 1, f"{len(objs)} {kind} objects"
        return objs[0]

    @property
    def workload(self):
        found = [o for kind in WORKLOADS for o in self.by_kind.get(kind, [])]
        assert len(found) == 1, [o["kind"] for o in found]
        return found[0]

    @property
    def pod(self):
        return self.workload["spec"]["template"]["spec"]

    @property
    def container(self):
        return next(c for c in self.pod["containers"] if c["name"] == "collectord")

    @property
    def service(self):
        """The Service (the headless one apart)."""
        found = [o for o in self.by_kind.get("Service", []) if o["spec"].get("clusterIP") != "None"]
        assert len(found) == 1, [o["metadata"]["name"] for o in self.by_kind.get("Service", [])]
        return found[0]

    @property
    def headless(self):
        found = [o for o in self.by_kind.get("Service", []) if o["spec"].get("clusterIP") == "None"]
        assert len(found) <= 1, [o["metadata"]["name"] for o in found]
        return found[0] if found else None

    @property
    def config_text(self):
        return self.one("ConfigMap")["data"]["collector.yaml"]

    @property
    def config(self):
        return yaml.safe_load(self.config_text)

    def volume(self, name):
        return next((v for v in self.pod.get("volumes", []) if v["name"] == name), None)

    def mount(self, name):
        return next((m for m in self.container.get("volumeMounts", []) if m["name"] == name), None)


def subset(small, big):
    return all(big.get(k) == v for k, v in small.items())


# -- checks on every render ----------------------------------------------------------------------

def check_references(r):
    pod_labels = r.workload["spec"]["template"]["metadata"]["labels"]
    assert subset(r.workload["spec"]["selector"]["matchLabels"], pod_labels), "the workload's selector misses its pods"
    volumes = {v["name"] for v in r.pod.get("volumes", [])}
    claims = {c["metadata"]["name"] for c in r.workload["spec"].get("volumeClaimTemplates", [])}
    for c in r.pod["containers"] + r.pod.get("initContainers", []):
        for m in c.get("volumeMounts", []):
            assert m["name"] in volumes | claims, f"{c['name']} mounts {m['name']}, which is no volume"
    assert r.one("ConfigMap")["metadata"]["name"] == r.volume("config")["configMap"]["name"]
    assert r.pod["serviceAccountName"] == r.one("ServiceAccount")["metadata"]["name"]
    service = r.service
    port_names = {p["name"] for p in r.container["ports"]}
    for svc in filter(None, [service, r.headless]):
        assert subset(svc["spec"]["selector"], pod_labels), f"the Service {svc['metadata']['name']} selects no pod"
        for p in svc["spec"]["ports"]:
            assert p["targetPort"] in port_names, f"Service port {p['name']} targets {p['targetPort']}"
    if "ClusterRoleBinding" in r.by_kind:
        binding = r.one("ClusterRoleBinding")
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                      "name": r.one("ClusterRole")["metadata"]["name"]}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": r.pod["serviceAccountName"],
                                        "namespace": NAMESPACE}]
    if "ServiceMonitor" in r.by_kind:
        monitor = r.one("ServiceMonitor")
        assert subset(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
        assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
        assert "metrics" in {p["name"] for p in service["spec"]["ports"]}
    if "NetworkPolicy" in r.by_kind:
        policy = r.one("NetworkPolicy")
        assert subset(policy["spec"]["podSelector"]["matchLabels"], pod_labels)
        ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
        query = {16686} if "query" in r.config["extensions"] else set()
        assert ports == {4317, 4318, 8888, 13133} | query, ports


def check_security(r):
    pod_sc = r.pod["securityContext"]
    assert pod_sc["runAsNonRoot"] is True and pod_sc["runAsUser"] != 0, pod_sc
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not r.pod.get("hostNetwork") and not r.pod.get("hostPID") and not r.pod.get("hostIPC")
    sc = r.container["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] != 0, sc
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, sc
    assert sc["capabilities"] == {"drop": ["ALL"]}, sc["capabilities"]
    for c in r.pod.get("initContainers", []):
        isc = c["securityContext"]
        assert isc["capabilities"]["drop"] == ["ALL"], c["name"]
        assert set(isc["capabilities"].get("add", [])) <= {"CHOWN", "DAC_READ_SEARCH"}, isc["capabilities"]
        assert isc["readOnlyRootFilesystem"] is True and isc["allowPrivilegeEscalation"] is False
        assert c["command"][:2] == ["chown", "-R"], c["command"]
    assert not any(c.get("securityContext", {}).get("privileged") for c in r.pod["containers"])


def check_node_name(r):
    env = {e["name"]: e for e in r.container["env"]}
    assert env["K8S_NODE_NAME"] == {"name": "K8S_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}


def check_config_fits_pod(r):
    text, config = r.config_text, r.config
    env = {e["name"] for e in r.container["env"]}
    for name in re.findall(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}", text):
        assert name in env, f"the config reads ${{env:{name}}}, which the pod does not set"
    state = r.mount("state")
    assert state and not state.get("readOnly"), "the state volume must be mounted writable"
    stores = [config["receivers"].get("filelog", {}).get("storage"),
              config["exporters"].get("loki", {}).get("sending_queue", {}).get("storage"),
              config["exporters"].get("loadbalancing", {}).get("sending_queue", {}).get("storage"),
              config["exporters"].get("store", {}).get("directory")]
    for path in filter(None, stores):
        assert path.startswith(state["mountPath"] + "/"), f"{path} is not on the state volume"
    container_ports = {p["containerPort"] for p in r.container["ports"]}
    for proto in config["receivers"]["otlp"]["protocols"].values():
        assert int(proto["endpoint"].rsplit(":", 1)[1]) in container_ports, proto
    metrics = int(config["service"]["telemetry"]["metrics"]["address"].rsplit(":", 1)[1])
    assert metrics == next(p["containerPort"] for p in r.container["ports"] if p["name"] == "metrics")
    if "query" in config["extensions"]:
        query = int(config["extensions"]["query"]["endpoint"].rsplit(":", 1)[1])
        assert query == next(p["containerPort"] for p in r.container["ports"] if p["name"] == "query")
    health = int(config["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1])
    assert health == r.container["livenessProbe"]["httpGet"]["port"] == r.container["readinessProbe"]["httpGet"]["port"]
    annotation = r.workload["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert annotation == hashlib.sha256(text.rstrip("\n").encode()).hexdigest(), "checksum/config is not the config's"


def check_hostports(r, agent):
    ports = {p["name"]: p for c in r.pod["containers"] + r.pod.get("initContainers", []) for p in c.get("ports", [])}
    if agent:
        assert {n: p.get("hostPort") for n, p in ports.items()} == {"otlp": 4317, "otlp-http": 4318, "metrics": None}, ports
        assert r.service["spec"]["internalTrafficPolicy"] == "Local"
    else:
        assert not any("hostPort" in p for p in ports.values()), ports
        assert not any("hostPath" in v for v in r.pod.get("volumes", [])), r.pod["volumes"]
        assert r.service["spec"]["internalTrafficPolicy"] == "Cluster"


# -- what the presets add -------------------------------------------------------------------------

def check_logs_preset(r, on):
    config, pods = r.config, r.volume("varlogpods")
    logs = config["service"]["pipelines"]["logs"]
    if not on:
        assert pods is None and r.mount("varlogpods") is None and "filelog" not in config["receivers"]
        assert logs["receivers"] == ["otlp"], logs
        assert 0 not in r.pod["securityContext"].get("supplementalGroups", [])
        return
    assert pods["hostPath"]["path"] == "/var/log/pods"
    assert r.mount("varlogpods") == {"name": "varlogpods", "mountPath": "/var/log/pods", "readOnly": True}
    assert 0 in r.pod["securityContext"]["supplementalGroups"], "container logs are root:root 0640"
    filelog = config["receivers"]["filelog"]
    assert filelog["include"] == ["/var/log/pods/*/*/*.log"]
    assert filelog["exclude"] == [f"/var/log/pods/{NAMESPACE}_{RELEASE}-*_*/collectord/*.log"], filelog["exclude"]
    assert filelog["operators"] == [{"type": "container"}]
    assert filelog["storage"] == "/var/lib/collectord/filelog"
    assert logs["receivers"] == ["otlp", "filelog"], logs


def check_cluster_role(r, pods, slices):
    """Exactly the rules asked for; no ClusterRole, binding or token without any."""
    want = [POD_RULE] * pods + [SLICE_RULE] * slices
    if not want:
        assert "ClusterRole" not in r.by_kind and "ClusterRoleBinding" not in r.by_kind, r.kinds()
        assert r.pod["automountServiceAccountToken"] is False
        return
    rules = [{key: sorted(value) for key, value in rule.items()} for rule in r.one("ClusterRole")["rules"]]
    assert rules == want, rules
    assert "ClusterRoleBinding" in r.by_kind and r.pod["automountServiceAccountToken"] is True


def check_k8s_preset(r, on, agent):
    config = r.config
    pipelines = config["service"]["pipelines"]
    if not on:
        assert "k8sattributes" not in config["processors"]
        assert all(p["processors"] == ["batch"] for p in pipelines.values()), pipelines
        return
    k8s = config["processors"]["k8sattributes"]
    assert k8s.get("filter") == ({"node_from_env_var": "K8S_NODE_NAME"} if agent else None), k8s.get("filter")
    assert k8s["extract"]["metadata"] == K8S_METADATA and k8s["passthrough"] is False
    assert k8s["pod_association"] == [{"sources": [{"from": "resource_attribute", "name": "k8s.pod.ip"}]},
                                      {"sources": [{"from": "resource_attribute", "name": "k8s.pod.uid"}]},
                                      {"sources": [{"from": "connection"}]}]
    for name in ("traces", "logs"):
        assert pipelines[name]["processors"] == ["k8sattributes", "batch"], pipelines[name]


def check_state(r, kind):
    state = r.volume("state")
    if kind == "hostPath":
        assert state["hostPath"] == {"path": f"/var/lib/collectord/{NAMESPACE}_{RELEASE}", "type": "DirectoryOrCreate"}
        init = next(c for c in r.pod["initContainers"] if c["name"] == "state-ownership")
        assert init["command"] == ["chown", "-R", "65532:65532", "/var/lib/collectord"], init["command"]
    elif kind == "emptyDir":
        assert state == {"name": "state", "emptyDir": {}} and "initContainers" not in r.pod
    else:
        assert state is None and r.workload["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "state"


def check_merge(r):
    config = r.config
    filelog = config["receivers"]["filelog"]
    assert filelog["start_at"] == "beginning" and filelog["include_file_path"] is False, filelog
    assert filelog["include"] == ["/var/log/pods/*/*/*.log"], "the preset's other keys stay"
    assert config["processors"]["batch"] == {"send_batch_size": 4096, "timeout": "1s"}
    assert "debug" not in config["exporters"] and config["exporters"]["nop"] == {}
    assert config["exporters"]["loki"]["endpoint"] == "${env:LOKI_ENDPOINT}"
    traces = config["service"]["pipelines"]["traces"]
    assert traces == {"receivers": ["otlp"], "processors": ["k8sattributes", "batch"], "exporters": ["nop"]}, traces


# -- the gateway tier ------------------------------------------------------------------------------

HEADLESS = f"{RELEASE}-headless"


def check_headless(r, gateway):
    headless = r.headless
    if not gateway:
        assert headless is None, "a headless Service in daemonset mode"
        return
    spec = headless["spec"]
    assert headless["metadata"]["name"] == HEADLESS, headless["metadata"]["name"]
    assert spec["type"] == "ClusterIP" and spec["clusterIP"] == "None", spec
    assert spec["publishNotReadyAddresses"] is False, "not-ready and terminating gateways must leave the DNS answer"
    assert spec["selector"] == r.service["spec"]["selector"] == r.workload["spec"]["selector"]["matchLabels"]
    # Every enabled port but metrics (the ServiceMonitor selects both Services by their labels
    # and scrapes the `metrics` port: one Service with it means one scrape per pod).
    expected = sorted((p["name"], p["containerPort"]) for p in r.container["ports"] if p["name"] != "metrics")
    assert sorted((p["name"], p["port"]) for p in spec["ports"]) == expected, spec["ports"]
    assert "metrics" in {p["name"] for p in r.service["spec"]["ports"]}
    if r.workload["kind"] == "StatefulSet":
        assert r.workload["spec"]["serviceName"] == HEADLESS, "the governing Service must be the headless one"
        assert r.workload["spec"]["podManagementPolicy"] == "Parallel"


def check_gateway_preset(r, on):
    config = r.config
    pipelines = config["service"]["pipelines"]
    ports = {p["name"]: p["containerPort"] for p in r.container["ports"]}
    if not on:
        assert "store" not in config["exporters"] and "query" not in config["extensions"], config
        assert "query" not in ports and "query" not in {p["name"] for p in r.service["spec"]["ports"]}
        return
    assert config["exporters"]["store"] == {"directory": "/var/lib/collectord/store"}, config["exporters"]["store"]
    query = config["extensions"]["query"]
    assert query == {"endpoint": "0.0.0.0:16686",
                     "peers": {"dns": {"hostname": f"{HEADLESS}.{NAMESPACE}.svc", "port": 16686}}}, query
    # The peers' name is the headless Service's, in this namespace, on the pods' query port.
    name, namespace, svc = query["peers"]["dns"]["hostname"].split(".")
    assert (name, namespace, svc) == (r.headless["metadata"]["name"], r.headless["metadata"]["namespace"], "svc")
    assert {"name": "query", "port": 16686, "targetPort": "query", "protocol": "TCP"} in r.headless["spec"]["ports"]
    assert ports["query"] == query["peers"]["dns"]["port"]
    assert config["service"]["extensions"] == ["health_check", "query"], config["service"]["extensions"]
    assert pipelines["traces"]["exporters"] == ["debug", "store"], pipelines["traces"]
    assert pipelines["logs"]["exporters"] == ["loki", "store"], pipelines["logs"]


def check_autoscaling(r, values):
    workload = r.workload
    hpa_values = values.get("autoscaling", {})
    if not hpa_values.get("enabled"):
        assert "HorizontalPodAutoscaler" not in r.by_kind
        if workload["kind"] != "DaemonSet":
            assert workload["spec"]["replicas"] == 1, workload["spec"].get("replicas")
        return
    hpa = r.one("HorizontalPodAutoscaler")
    spec = hpa["spec"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": workload["kind"],
                                      "name": workload["metadata"]["name"]}, spec["scaleTargetRef"]
    assert "replicas" not in workload["spec"], "the HPA owns replicas: the workload must not set them"
    assert (spec["minReplicas"], spec["maxReplicas"]) == (hpa_values.get("minReplicas", 2), hpa_values.get("maxReplicas", 10))
    expected = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    if "targetMemoryUtilizationPercentage" in hpa_values:
        expected.append({"type": "Resource", "resource": {"name": "memory", "target": {
            "type": "Utilization", "averageUtilization": hpa_values["targetMemoryUtilizationPercentage"]}}})
    assert spec["metrics"] == expected, spec["metrics"]
    assert spec.get("behavior") == hpa_values.get("behavior"), spec.get("behavior")
    requests = r.container["resources"]["requests"]
    assert requests.get("cpu") and (len(expected) == 1 or requests.get("memory")), "utilization needs the requests"


def check_pdb(r, values):
    pdb_values = values.get("podDisruptionBudget", {})
    if not pdb_values.get("enabled"):
        assert "PodDisruptionBudget" not in r.by_kind
        return
    pdb = r.one("PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert subset(pdb["spec"]["selector"]["matchLabels"], r.workload["spec"]["template"]["metadata"]["labels"])
    budget = {k: v for k, v in pdb["spec"].items() if k in ("minAvailable", "maxUnavailable")}
    expected = {k: v for k, v in pdb_values.items() if k in ("minAvailable", "maxUnavailable")} or {"maxUnavailable": 1}
    assert budget == expected, budget
    if r.headless is not None and "minAvailable" in budget:
        hpa = r.by_kind.get("HorizontalPodAutoscaler")
        assert not hpa or hpa[0]["spec"]["minReplicas"] > budget["minAvailable"], "a PDB the HPA's minimum can never satisfy"


def check_drain(r, gateway):
    """The stop sequence: (gateways) preStop sleep, then SIGTERM and --shutdown-timeout, inside the grace period."""
    args = r.container["args"]
    assert args[:4] == ["--config", "/etc/collectord/collector.yaml", "--shutdown-timeout", "20s"], args
    hook = r.container.get("lifecycle")
    grace = r.pod["terminationGracePeriodSeconds"]
    if gateway:
        assert hook == {"preStop": {"exec": {"command": ["/bin/sleep", "15"]}}}, hook
        assert grace == 15 + 20 + 10, grace
    else:
        assert hook is None, hook
        assert grace == 20 + 10, grace


def check_load_balancing(r, on):
    config = r.config
    pipelines = config["service"]["pipelines"]
    if not on:
        assert "loadbalancing" not in config["exporters"]
        assert all("loadbalancing" not in p.get("exporters", []) for p in pipelines.values())
        return
    assert config["exporters"]["loadbalancing"] == {
        "protocol": {"otlp": {"tls": {"insecure": True}}},
        "resolver": {"dns": {"hostname": GATEWAY_SERVICE, "port": 4317}},
        "sending_queue": {"storage": "/var/lib/collectord/loadbalancing"}}, config["exporters"]["loadbalancing"]
    assert pipelines["traces"]["exporters"] == ["loadbalancing"], pipelines["traces"]
    assert pipelines["traces"]["processors"] == ["k8sattributes", "batch"], "enrich on the node, before forwarding"
    assert pipelines["logs"]["exporters"] == ["loki"], pipelines["logs"]
    # The disk queue is on the node: a new agent pod sends what the last one queued.
    assert r.volume("state")["hostPath"]["path"] == f"/var/lib/collectord/{NAMESPACE}_{RELEASE}"


def check_checked_in_manifest(r):
    with open(os.path.join(ROOT, "deploy", "kubernetes", "daemonset.yaml")) as f:
        checked_in = Render(f.read())
    assert checked_in.objects == r.objects, "deploy/kubernetes/daemonset.yaml is stale: run deploy/render.sh"


def case_checks(name, r):
    values = CASES[name]
    mode = values.get("mode", "daemonset")
    presets = {**{"logsCollection": {"enabled": True}, "kubernetesAttributes": {"enabled": True}}, **values.get("presets", {})}
    logs, k8s = presets["logsCollection"]["enabled"], presets["kubernetesAttributes"]["enabled"]
    slices = values.get("clusterRole", {}).get("endpointSlices") is True
    gateway_preset = presets.get("gateway", {}).get("enabled", False)
    load_balancing = presets.get("loadBalancing", {}).get("enabled", False)
    gateway = mode != "daemonset"
    expected = ["ConfigMap", "Service", "ServiceAccount", {"daemonset": "DaemonSet", "deployment": "Deployment",
                                                           "statefulset": "StatefulSet"}[mode]]
    if gateway:
        expected.append("Service")  # the headless one
    if k8s or slices:
        expected += ["ClusterRole", "ClusterRoleBinding"]
    for key, kinds in [("serviceMonitor", ["ServiceMonitor"]), ("prometheusRule", ["PrometheusRule"]),
                       ("networkPolicy", ["NetworkPolicy"]), ("autoscaling", ["HorizontalPodAutoscaler"]),
                       ("podDisruptionBudget", ["PodDisruptionBudget"])]:
        if values.get(key, {}).get("enabled"):
            expected += kinds
    checks = [
        ("objects rendered", lambda: check_kinds(r, expected)),
        ("references resolve", lambda: check_references(r)),
        ("non-root, read-only root, no capabilities", lambda: check_security(r)),
        ("K8S_NODE_NAME from spec.nodeName", lambda: check_node_name(r)),
        ("config fits the pod (env, state, ports, checksum)", lambda: check_config_fits_pod(r)),
        ("hostPorts only in daemonset mode", lambda: check_hostports(r, mode == "daemonset")),
        ("logsCollection preset", lambda: check_logs_preset(r, logs)),
        ("kubernetesAttributes preset", lambda: check_k8s_preset(r, k8s, mode == "daemonset")),
        ("ClusterRole: exactly the rules the presets and resolvers need", lambda: check_cluster_role(r, k8s, slices)),
        ("state volume", lambda: check_state(r, {"daemonset": "hostPath", "deployment": "emptyDir",
                                                 "statefulset": "claim"}[mode])),
        ("headless Service (gateway modes only)", lambda: check_headless(r, gateway)),
        ("gateway preset: store, query peers on the headless Service", lambda: check_gateway_preset(r, gateway_preset)),
        ("loadBalancing preset: DNS resolver, insecure OTLP, queue on the node", lambda: check_load_balancing(r, load_balancing)),
        ("HorizontalPodAutoscaler", lambda: check_autoscaling(r, values)),
        ("PodDisruptionBudget", lambda: check_pdb(r, values)),
        ("drain: --shutdown-timeout, preStop sleep, grace period", lambda: check_drain(r, gateway)),
    ]
    for obj in r.objects:
        checks.append((f"{obj['kind']} {obj['metadata']['name']} matches its schema",
                       lambda obj=obj: _no_problems(schema.problems(obj))))
    if name == "daemonset default":
        checks.append(("deploy/kubernetes/daemonset.yaml is this render", lambda: check_checked_in_manifest(r)))
    if name == "config merged over the presets":
        checks.append(("config merged over the presets' config", lambda: check_merge(r)))
    if "PrometheusRule" in r.by_kind:
        checks.append(("PrometheusRule: promtool check/test rules, real metric names",
                       lambda: check_rules(r.one("PrometheusRule"), ROOT, k8s)))
    return checks


def check_kinds(r, expected):
    rendered = sorted(o["kind"] for o in r.objects)
    assert rendered == sorted(expected), f"{rendered} != {sorted(expected)}"


def _no_problems(problems):
    assert not problems, "\n".join(problems)


def check_validate(collectord, r, tmp):
    """`collectord validate` on the config, with the pod's environment (downward API values made up)."""
    path = os.path.join(tmp, "collector.yaml")
    with open(path, "w") as f:
        f.write(r.config_text)
    made_up = {"spec.nodeName": "node-1", "metadata.name": f"{RELEASE}-x1y2z", "metadata.namespace": NAMESPACE}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for e in r.container["env"]:
        env[e["name"]] = e["value"] if "value" in e else made_up[e["valueFrom"]["fieldRef"]["fieldPath"]]
    result = subprocess.run([collectord, "validate", "--config", path], capture_output=True, text=True,
                            env=env, cwd=tmp, timeout=60)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}{result.stderr}"
    assert "configuration is valid" in result.stdout, result.stdout


def check_flags(collectord, r):
    """Every flag the container passes is one `collectord run` takes (the args go to its default subcommand)."""
    result = subprocess.run([collectord, "run", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    known = set(re.findall(r"(--[a-z][a-z0-9-]*)", result.stdout))
    flags = [a.split("=", 1)[0] for a in r.container["args"] if a.startswith("--")]
    assert flags and set(flags) <= known, f"{flags} not all in {sorted(known)}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collectord", help="also run `collectord validate` on every rendered config")
    args = parser.parse_args()
    collectord = os.path.abspath(args.collectord) if args.collectord else None
    results = []

    def run(name, fn):
        try:
            fn()
            results.append(True)
            print(f"ok   {name}")
        except Exception:
            results.append(False)
            print(f"FAIL {name}\n{traceback.format_exc()}")

    tmp = tempfile.mkdtemp(prefix="helm-render-check-")
    try:
        for name, values in CASES.items():
            result = helm_template(values, tmp)
            if result.returncode != 0:
                def helm_failed(stderr=result.stderr):
                    raise AssertionError(stderr)
                run(f"{name}: helm template", helm_failed)
                continue
            r = Render(result.stdout)
            for check, fn in case_checks(name, r):
                run(f"{name}: {check}", fn)
            if collectord:
                run(f"{name}: collectord validate", lambda: check_validate(collectord, r, tmp))
                run(f"{name}: collectord run takes the container's flags", lambda: check_flags(collectord, r))
        def lint():
            result = subprocess.run(helm_command() + ["lint", "--strict", CHART], capture_output=True, text=True,
                                    timeout=120)
            assert result.returncode == 0, result.stdout + result.stderr
        run("helm lint --strict", lint)
        for name, (values, pods, slices) in RESOLVER_CASES.items():
            def resolver_rbac(values=values, pods=pods, slices=slices):
                result = helm_template(values, tmp)
                assert result.returncode == 0, result.stderr
                r = Render(result.stdout)
                check_cluster_role(r, pods, slices)
                check_references(r)
            run(f"{name}: ClusterRole", resolver_rbac)
        for name, (values, message) in REFUSED.items():
            def refused(values=values, message=message):
                result = helm_template(values, tmp)
                assert result.returncode != 0, "rendered"
                assert message in result.stderr, result.stderr
            run(f"refused: {name}", refused)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{results.count(True)} passed, {results.count(False)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
