#!/usr/bin/env python3
"""Renders the Helm chart deploy/helm/collectord with the real Helm and checks what comes out.

Helm is Helm's Go SDK (the helm-python-sdk wheel in .venv, through scripts/helm.py's `helm
template`), or the helm binary named by $HELM. The cases: daemonset with the default values,
daemonset with the presets off, deployment, statefulset, the presets on with the
ServiceMonitor, PrometheusRule and NetworkPolicy, a `config` merged over the presets, the
EndpointSlices rule asked for; sets of values the chart must refuse; and configs with `k8s`
resolvers, whose ClusterRole alone is checked (RESOLVER_CASES). For each rendered object:

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
- the PrometheusRule's groups with `promtool check rules` and `promtool test rules` (the
  alerts fire on collectord-shaped series, and only there), its metrics among those collectord
  registers (read from Sources/);
- deploy/kubernetes/daemonset.yaml is the default render (deploy/render.sh); `helm lint --strict`;
- with --collectord PATH, every rendered config passes `PATH validate --config FILE`, with the
  pod's environment.

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
CASES = {
    "daemonset default": {},
    "daemonset, presets off": OFF,
    "deployment": {"mode": "deployment", "presets": {"logsCollection": {"enabled": False}}},
    "statefulset": {"mode": "statefulset", "presets": {"logsCollection": {"enabled": False}},
                    "statefulset": {"volumeClaimTemplates": [{"metadata": {"name": "state"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}},
    "presets on, monitoring": {**ON, "serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True},
                               "networkPolicy": {"enabled": True}},
    "config merged over the presets": {"config": {
        "receivers": {"filelog": {"start_at": "beginning", "include_file_path": False}},
        "processors": {"batch": {"send_batch_size": 4096, "timeout": "1s"}},
        "exporters": {"debug": None, "nop": {}},
        "service": {"pipelines": {"traces": {"exporters": ["nop"]}}}}},
    "EndpointSlices rule asked for, presets off": {**OFF, "clusterRole": {"endpointSlices": True}},
}
REFUSED = {
    "deployment with logsCollection": ({"mode": "deployment"}, "needs mode daemonset"),
    "an unknown mode": ({"mode": "sidecar"}, "mode must be daemonset, deployment or statefulset"),
    "clusterRole.endpointSlices not auto/true/false": ({"clusterRole": {"endpointSlices": "sometimes"}},
                                                       "clusterRole.endpointSlices must be auto, true or false (is sometimes)"),
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
    service = r.one("Service")
    assert subset(service["spec"]["selector"], pod_labels), "the Service selects no pod"
    port_names = {p["name"] for p in r.container["ports"]}
    for p in service["spec"]["ports"]:
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
        assert ports == {4317, 4318, 8888, 13133}, ports


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
              config["exporters"].get("loki", {}).get("sending_queue", {}).get("storage")]
    for path in filter(None, stores):
        assert path.startswith(state["mountPath"] + "/"), f"{path} is not on the state volume"
    container_ports = {p["containerPort"] for p in r.container["ports"]}
    for proto in config["receivers"]["otlp"]["protocols"].values():
        assert int(proto["endpoint"].rsplit(":", 1)[1]) in container_ports, proto
    metrics = int(config["service"]["telemetry"]["metrics"]["address"].rsplit(":", 1)[1])
    assert metrics == next(p["containerPort"] for p in r.container["ports"] if p["name"] == "metrics")
    health = int(config["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1])
    assert health == r.container["livenessProbe"]["httpGet"]["port"] == r.container["readinessProbe"]["httpGet"]["port"]
    annotation = r.workload["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert annotation == hashlib.sha256(text.rstrip("\n").encode()).hexdigest(), "checksum/config is not the config's"


def check_hostports(r, agent):
    ports = {p["name"]: p for c in r.pod["containers"] + r.pod.get("initContainers", []) for p in c.get("ports", [])}
    if agent:
        assert {n: p.get("hostPort") for n, p in ports.items()} == {"otlp": 4317, "otlp-http": 4318, "metrics": None}, ports
        assert r.one("Service")["spec"]["internalTrafficPolicy"] == "Local"
    else:
        assert not any("hostPort" in p for p in ports.values()), ports
        assert not any("hostPath" in v for v in r.pod.get("volumes", [])), r.pod["volumes"]
        assert r.one("Service")["spec"]["internalTrafficPolicy"] == "Cluster"


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
    expected = {"ConfigMap", "Service", "ServiceAccount", {"daemonset": "DaemonSet", "deployment": "Deployment",
                                                           "statefulset": "StatefulSet"}[mode]}
    if k8s or slices:
        expected |= {"ClusterRole", "ClusterRoleBinding"}
    if values.get("prometheusRule"):
        expected |= {"NetworkPolicy", "ServiceMonitor", "PrometheusRule"}
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
    assert r.kinds() == sorted(expected), f"{r.kinds()} != {sorted(expected)}"


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
