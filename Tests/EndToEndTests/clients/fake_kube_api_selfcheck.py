#!/usr/bin/env python3
"""Self-check of fake_kube_api.py: starts it three ways (plain HTTP, HTTPS + token, HTTPS +
client certificates) plus the 50,000-pod scale scenario, and checks lists, selectors, paging,
watches (chunked reading, selector transitions, bookmarks, timeouts, cut connections, 410 in
both styles), token rotation, the kubeconfig and the service account directory, with `requests`,
`http.client`, raw sockets and the official Kubernetes client; and EndpointSlices (one
namespace, the service-name label selector, endpoints added, removed and marked not ready,
their bookmarks and 410s, read by the official client's DiscoveryV1Api into its models).

    .venv/bin/python Tests/EndToEndTests/clients/fake_kube_api_selfcheck.py

Prints one line per check and "N passed, N failed"; exits 1 on any failure.
"""
import atexit, base64, http.client, json, os, re, shutil, socket, ssl, subprocess, sys, tempfile, time, traceback

import requests
import yaml
from kubernetes import client as kc, config as kconfig, watch as kwatch

HERE = os.path.dirname(os.path.abspath(__file__))
PRESET = {"namespaces": [{"name": "shop", "labels": {"team": "a"}}],
          "pods": [{"name": "web-1", "namespace": "shop", "node": "n1", "ip": "10.1.0.1", "labels": {"app": "web", "tier": "front"},
                    "owner": {"kind": "Deployment", "name": "web"}, "containers": [{"name": "nginx", "image": "nginx:1.25"}]},
                   {"name": "web-2", "namespace": "shop", "node": "n2", "ip": "10.1.0.2", "labels": {"app": "web"},
                    "owner": {"kind": "Deployment", "name": "web"}},
                   {"name": "agent-x", "namespace": "kube-system", "node": "n1", "host_network": True, "ip": "192.0.2.1",
                    "owner": {"kind": "DaemonSet", "name": "agent"}, "labels": {"app": "agent"}},
                   {"name": "db-0", "namespace": "shop", "node": "n2", "owner": {"kind": "StatefulSet", "name": "db"},
                    "labels": {"app": "db"}},
                   {"name": "report-1", "namespace": "batch", "node": "n1", "owner": {"kind": "CronJob", "name": "report"}}],
          "endpointslices": [
              {"name": "gw-a1b2c", "namespace": "shop", "service": "gw",
               "endpoints": [{"ip": "10.1.0.10", "hostname": "gw-0", "node": "n1", "pod": "gw-0"},
                             {"ip": "10.1.0.11", "hostname": "gw-1", "node": "n2", "pod": "gw-1"}]},
              {"name": "gw-d4f5g", "namespace": "shop", "service": "gw",
               "endpoints": [{"ip": "10.1.0.12", "ready": False, "pod": "gw-2"}]},
              {"name": "db-h6j7k", "namespace": "shop", "service": "db", "endpoints": [{"ip": "10.1.0.20"}],
               "ports": [{"name": "pg", "port": 5432}]},
              {"name": "gw-m8n9p", "namespace": "batch", "service": "gw", "endpoints": [{"ip": "10.2.0.1"}]}]}


class Fake:
    def __init__(self, *flags):
        self.dir = tempfile.mkdtemp(prefix="fake-kube-check-")
        preset = os.path.join(self.dir, "preset.json")
        with open(preset, "w") as f:
            json.dump(PRESET, f)
        started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_kube_api.py"), "--state-dir",
                                      self.dir, "--preset", preset, *flags], stdout=subprocess.PIPE, text=True)
        atexit.register(self.proc.kill)  # a no-op once stop() has run
        self.info = json.loads(self.proc.stdout.readline())
        self.startup = time.monotonic() - started
        self.http = requests.Session()
        self.http.trust_env = False  # else REQUESTS_CA_BUNDLE would replace `verify`
        self.http.verify = self.info["ca_file"] or True

    def control(self, path, body=None):
        r = requests.post(f"http://127.0.0.1:{self.info['control_port']}/_control/{path}", json=body or {}, timeout=60)
        r.raise_for_status()
        return r.json()

    def requests_log(self):
        return requests.get(f"http://127.0.0.1:{self.info['control_port']}/_control/requests").json()["requests"]

    def get(self, path, token=None, **params):
        return self.http.get(self.info["server"] + path, params=params, timeout=30,
                             headers={"Authorization": f"Bearer {token or self.info['token']}"})

    def watch(self, path, token=None):
        """An open watch (http.client decodes the chunks; readline gives one event)."""
        if self.info["scheme"] == "https":
            conn = http.client.HTTPSConnection("127.0.0.1", self.info["port"], timeout=10,
                                               context=ssl.create_default_context(cafile=self.info["ca_file"]))
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.info["port"], timeout=10)
        conn.request("GET", path, headers={"Authorization": f"Bearer {token or self.info['token']}"})
        return conn, conn.getresponse()

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(10) == 0, "SIGTERM should exit 0"
        shutil.rmtree(self.dir)


def names(resp):
    assert resp.status_code == 200, resp.text
    return sorted(p["metadata"]["name"] for p in resp.json()["items"])


def event(resp):
    return json.loads(resp.readline())


def check_list(f):
    n1 = f.get("/api/v1/pods", fieldSelector="spec.nodeName=n1")
    assert names(n1) == ["agent-x", "report-1", "web-1"], names(n1)
    assert names(f.get("/api/v1/pods", fieldSelector="spec.nodeName=n1,metadata.namespace!=batch")) == ["agent-x", "web-1"]
    assert names(f.get("/api/v1/namespaces/shop/pods", fieldSelector="metadata.name=db-0")) == ["db-0"]
    for sel, want in [("app=web", ["web-1", "web-2"]), ("app!=web", ["agent-x", "db-0", "report-1"]),
                      ("tier", ["web-1"]), ("!tier,app", ["agent-x", "db-0", "web-2"]),
                      ("app in (web, db)", ["db-0", "web-1", "web-2"]), ("app notin (web),app", ["agent-x", "db-0"])]:
        assert names(f.get("/api/v1/pods", labelSelector=sel)) == want, (sel, names(f.get("/api/v1/pods", labelSelector=sel)))
    assert f.get("/api/v1/pods", fieldSelector="spec.bogus=1").json()["code"] == 400
    pod = f.get("/api/v1/namespaces/shop/pods/web-1").json()
    h = pod["metadata"]["labels"]["pod-template-hash"]
    assert pod["metadata"]["ownerReferences"][0]["name"] == f"web-{h}" and pod["metadata"]["creationTimestamp"].endswith("Z")
    assert re.fullmatch(r"containerd://[0-9a-f]{64}", pod["status"]["containerStatuses"][0]["containerID"])
    assert pod["status"]["podIPs"] == [{"ip": "10.1.0.1"}] and pod["spec"]["nodeName"] == "n1"
    job = f.get("/api/v1/namespaces/batch/pods/report-1").json()["metadata"]["ownerReferences"][0]
    assert job["kind"] == "Job" and re.fullmatch(r"report-\d+", job["name"]), job
    assert f.get("/api/v1/namespaces/shop/pods/nope").json()["reason"] == "NotFound"
    ks = f.get("/api/v1/namespaces/kube-system").json()
    assert ks["metadata"]["uid"] == f.info["cluster_uid"], ks
    # Paging: every page carries the first page's resourceVersion, and together they are the list.
    got, cont, rvs = [], None, set()
    while True:
        page = f.get("/api/v1/pods", limit=2, **({"continue": cont} if cont else {})).json()
        got += [p["metadata"]["name"] for p in page["items"]]
        rvs.add(page["metadata"]["resourceVersion"])
        cont = page["metadata"].get("continue")
        if not cont:
            break
    assert sorted(got) == names(f.get("/api/v1/pods")) and len(rvs) == 1, (got, rvs)
    # Auth and the request log.
    assert f.http.get(f.info["server"] + "/api/v1/pods").status_code == 401
    assert f.get("/api/v1/pods", token="wrong").json()["reason"] == "Unauthorized"
    log = f.requests_log()
    assert {e["auth"] for e in log} == {"token", "none", "invalid-token"}, log[-3:]
    assert log[0]["query"] == {"fieldSelector": "spec.nodeName=n1"}


def check_watch(f):
    rv = f.get("/api/v1/pods").json()["metadata"]["resourceVersion"]
    conn, resp = f.watch(f"/api/v1/pods?watch=1&resourceVersion={rv}&labelSelector=app%3Dweb&allowWatchBookmarks=true")
    assert resp.status == 200 and resp.getheader("Transfer-Encoding") == "chunked"
    f.control("pods", {"name": "web-3", "namespace": "shop", "node": "n1", "labels": {"app": "web"}})
    f.control("pods", {"name": "agent-x", "namespace": "kube-system", "annotations": {"a": "b"}})  # not matching
    f.control("pods", {"name": "web-3", "namespace": "shop", "labels": {"app": "other"}})  # stops matching
    f.control("pods/delete", {"name": "web-1", "namespace": "shop"})
    got = []
    while len(got) < 3:  # periodic BOOKMARKs (every second) may come in between
        if (e := event(resp))["type"] != "BOOKMARK":
            got.append((e["type"], e["object"]["metadata"]["name"]))
    assert got == [("ADDED", "web-3"), ("DELETED", "web-3"), ("DELETED", "web-1")], got
    current = requests.get(f"http://127.0.0.1:{f.info['control_port']}/_control/state").json()["resource_version"]
    f.control("bookmark")
    while (e := event(resp))["type"] != "BOOKMARK" or e["object"]["metadata"]["resourceVersion"] != current:
        pass
    assert e["object"] == {"apiVersion": "v1", "kind": "Pod", "metadata": {"resourceVersion": current}}, e
    conn.close()
    # From "0": the current objects as ADDED; timeoutSeconds ends with the last chunk and the
    # connection stays usable.
    conn, resp = f.watch("/api/v1/pods?watch=true&resourceVersion=0&fieldSelector=spec.nodeName%3Dn2&timeoutSeconds=1")
    assert sorted(e["object"]["metadata"]["name"] for e in map(json.loads, resp.read().splitlines())) == ["db-0", "web-2"]
    conn.request("GET", "/api/v1/namespaces", headers={"Authorization": f"Bearer {f.info['token']}"})
    assert conn.getresponse().status == 200
    # Cut: the socket closes without the final 0-length chunk.
    raw = socket.create_connection(("127.0.0.1", f.info["port"]))
    if f.info["ca_file"]:
        raw = ssl.create_default_context(cafile=f.info["ca_file"]).wrap_socket(raw, server_hostname="127.0.0.1")
    raw.sendall(f"GET /api/v1/pods?watch=1&resourceVersion={current} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {f.info['token']}\r\n\r\n".encode())
    time.sleep(0.3)
    assert f.control("cut-watches")["cut"] >= 1
    data = b""
    while chunk := raw.recv(65536):
        data += chunk
    assert data.startswith(b"HTTP/1.1 200") and not data.endswith(b"0\r\n\r\n"), data[-40:]
    # 410: too old after compaction (event and HTTP styles), and forced failures.
    f.control("compact")
    conn, resp = f.watch(f"/api/v1/pods?watch=1&resourceVersion={current}")
    e = event(resp)
    assert resp.status == 200 and e["type"] == "ERROR" and e["object"]["code"] == 410, e
    assert e["object"]["reason"] == "Expired" and e["object"]["message"].startswith(f"too old resource version: {current} (")
    assert resp.read() == b""  # a clean end after the error
    f.control("compact", {"style": "http"})
    conn, resp = f.watch(f"/api/v1/pods?watch=1&resourceVersion={current}")
    assert resp.status == 410 and json.loads(resp.read())["kind"] == "Status"
    f.control("compact", {"style": "event"})
    f.control("fail-watches", {"count": 1, "style": "http"})
    assert f.watch("/api/v1/namespaces?watch=1")[1].status == 410
    f.control("fail-watches", {"count": 1, "style": "event"})
    assert event(f.watch("/api/v1/namespaces?watch=1")[1])["type"] == "ERROR"
    assert event(f.watch("/api/v1/namespaces?watch=1")[1])["type"] == "ADDED"


GW = "kubernetes.io/service-name=gw"
SLICES = "/apis/discovery.k8s.io/v1"


def check_endpoint_slices(f):
    body = f.get(f"{SLICES}/namespaces/shop/endpointslices", labelSelector=GW).json()
    assert body["kind"] == "EndpointSliceList" and body["apiVersion"] == "discovery.k8s.io/v1", body
    assert names(f.get(f"{SLICES}/namespaces/shop/endpointslices", labelSelector=GW)) == ["gw-a1b2c", "gw-d4f5g"]
    assert names(f.get(f"{SLICES}/endpointslices", labelSelector=GW)) == ["gw-a1b2c", "gw-d4f5g", "gw-m8n9p"]
    assert names(f.get(f"{SLICES}/namespaces/shop/endpointslices")) == ["db-h6j7k", "gw-a1b2c", "gw-d4f5g"]
    one = f.get(f"{SLICES}/namespaces/shop/endpointslices/gw-a1b2c").json()
    assert one["addressType"] == "IPv4" and one["ports"] == [{"name": "otlp", "port": 4317, "protocol": "TCP"}], one
    assert one["metadata"]["labels"]["kubernetes.io/service-name"] == "gw"
    assert one["metadata"]["ownerReferences"][0]["kind"] == "Service" and one["metadata"]["ownerReferences"][0]["name"] == "gw"
    first = one["endpoints"][0]
    assert first["addresses"] == ["10.1.0.10"] and first["hostname"] == "gw-0" and first["nodeName"] == "n1", first
    assert first["conditions"] == {"ready": True, "serving": True, "terminating": False}, first
    assert first["targetRef"]["kind"] == "Pod" and first["targetRef"]["name"] == "gw-0"
    assert f.get(f"{SLICES}/namespaces/shop/endpointslices/gw-d4f5g").json()["endpoints"][0]["conditions"] == \
        {"ready": False, "serving": False, "terminating": False}
    assert f.get(f"{SLICES}/endpointslices/gw-a1b2c").status_code == 404  # a name needs its namespace
    rv = body["metadata"]["resourceVersion"]
    conn, resp = f.watch(f"{SLICES}/watch/namespaces/shop/endpointslices?resourceVersion={rv}"
                         f"&labelSelector=kubernetes.io%2Fservice-name%3Dgw&allowWatchBookmarks=true")
    f.control("endpointslices/endpoints", {"namespace": "shop", "name": "gw-a1b2c",
                                           "set": [{"ip": "10.1.0.11", "ready": False, "terminating": True},
                                                   {"ip": "10.1.0.13", "hostname": "gw-3"}], "remove": ["10.1.0.10"]})
    f.control("endpointslices", {"name": "db-h6j7k", "namespace": "shop", "service": "db", "endpoints": []})  # not gw
    f.control("endpointslices/delete", {"namespace": "shop", "name": "gw-d4f5g"})
    got = []
    while len(got) < 2:
        if (e := event(resp))["type"] != "BOOKMARK":
            got.append(e)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in got] == [("MODIFIED", "gw-a1b2c"), ("DELETED", "gw-d4f5g")], got
    eps = {ep["addresses"][0]: ep["conditions"] for ep in got[0]["object"]["endpoints"]}
    assert eps == {"10.1.0.11": {"ready": False, "serving": False, "terminating": True},
                   "10.1.0.13": {"ready": True, "serving": True, "terminating": False}}, eps
    current = requests.get(f"http://127.0.0.1:{f.info['control_port']}/_control/state").json()["resource_version"]
    f.control("bookmark")
    while (e := event(resp))["type"] != "BOOKMARK" or e["object"]["metadata"]["resourceVersion"] != current:
        pass
    assert e["object"] == {"addressType": "", "apiVersion": "discovery.k8s.io/v1", "endpoints": [], "kind": "EndpointSlice",
                           "metadata": {"resourceVersion": current}}, e
    conn.close()
    f.control("compact")
    conn, resp = f.watch(f"{SLICES}/namespaces/shop/endpointslices?watch=1&resourceVersion={rv}")
    e = event(resp)
    assert e["type"] == "ERROR" and e["object"]["code"] == 410, e
    conn.close()
    # Put the preset's slices back for the checks after this one.
    f.control("endpointslices", PRESET["endpointslices"][:3])  # a given "endpoints" replaces the slice's


def check_endpoint_slices_official_client(f):
    cfg = kc.Configuration()
    kconfig.load_kube_config(config_file=f.info["kubeconfig"], client_configuration=cfg)
    api = kc.DiscoveryV1Api(kc.ApiClient(cfg))
    listed = api.list_namespaced_endpoint_slice("shop", label_selector=GW)
    by_name = {s.metadata.name: s for s in listed.items}
    assert sorted(by_name) == ["gw-a1b2c", "gw-d4f5g"], sorted(by_name)
    a = by_name["gw-a1b2c"]
    assert a.address_type == "IPv4" and [p.port for p in a.ports] == [4317]
    assert [(e.addresses, e.hostname, e.conditions.ready) for e in a.endpoints] == \
        [(["10.1.0.10"], "gw-0", True), (["10.1.0.11"], "gw-1", True)], a.endpoints
    assert by_name["gw-d4f5g"].endpoints[0].conditions.ready is False
    f.control("endpointslices", {"name": "gw-q2r3s", "namespace": "shop", "service": "gw",
                                 "endpoints": [{"addresses": ["fd00::5"], "hostname": "gw-5"}]})
    f.control("endpointslices/delete", {"namespace": "shop", "name": "gw-q2r3s"})
    seen = []
    w = kwatch.Watch()
    for e in w.stream(api.list_namespaced_endpoint_slice, "shop", label_selector=GW,
                      resource_version=listed.metadata.resource_version, timeout_seconds=5):
        seen.append((e["type"], e["object"].metadata.name, e["object"].address_type, e["object"].endpoints[0].addresses))
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", "gw-q2r3s", "IPv6", ["fd00::5"]), ("DELETED", "gw-q2r3s", "IPv6", ["fd00::5"])], seen


def check_tokens(f):
    old = f.info["token"]
    new = f.control("rotate-token", {"grace_seconds": 1})["token"]
    assert open(os.path.join(f.info["serviceaccount_dir"], "token")).read() == new
    assert f.get("/api/v1/pods", token=old).status_code == 200 and f.get("/api/v1/pods", token=new).status_code == 200
    time.sleep(1.2)
    assert f.get("/api/v1/pods", token=old).status_code == 401
    newer = f.control("rotate-token", {"token": "t-3", "grace_seconds": 0})["token"]
    assert f.get("/api/v1/pods", token=new).status_code == 401 and f.get("/api/v1/pods", token=newer).status_code == 200
    assert f.requests_log()[-1]["user"] == "rotated-2"
    f.info["token"] = newer


def check_official_client(f, context=None):
    cfg = kc.Configuration()
    kconfig.load_kube_config(config_file=f.info["kubeconfig"], context=context, client_configuration=cfg)
    v1 = kc.CoreV1Api(kc.ApiClient(cfg))
    pods = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=n2")
    assert sorted(p.metadata.name for p in pods.items) == ["db-0", "web-2"]
    rv = pods.metadata.resource_version
    f.control("pods", [{"name": "new-1", "namespace": "shop", "node": "n2"}, {"name": "new-2", "namespace": "shop", "node": "n2"}])
    w = kwatch.Watch()
    seen = []
    for e in w.stream(v1.list_pod_for_all_namespaces, field_selector="spec.nodeName=n2", resource_version=rv, timeout_seconds=5):
        seen.append((e["type"], e["object"].metadata.name))
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", "new-1"), ("ADDED", "new-2")], seen
    f.control("compact")
    try:
        list(kwatch.Watch().stream(v1.list_namespace, resource_version=rv, timeout_seconds=5))
        raise AssertionError("expected a 410")
    except kc.ApiException as e:
        assert e.status == 410, e
    f.control("pods/delete", [{"name": "new-1", "namespace": "shop"}, {"name": "new-2", "namespace": "shop"}])


def check_incluster(f):
    cfg = kc.Configuration()
    sa = f.info["serviceaccount_dir"]
    kconfig.incluster_config.InClusterConfigLoader(
        token_filename=os.path.join(sa, "token"), cert_filename=os.path.join(sa, "ca.crt"),
        environ={"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(f.info["port"])}).load_and_set(cfg)
    assert "kube-system" in [n.metadata.name for n in kc.CoreV1Api(kc.ApiClient(cfg)).list_namespace().items]


def check_client_certs(f):
    user = yaml.safe_load(open(f.info["kubeconfig"]))["users"][0]["user"]
    for key in ("client-certificate-data", "client-key-data"):
        with open(os.path.join(f.dir, key), "wb") as out:
            out.write(base64.b64decode(user[key]))
    cert = (os.path.join(f.dir, "client-certificate-data"), os.path.join(f.dir, "client-key-data"))
    assert names(f.http.get(f.info["server"] + "/api/v1/pods", cert=cert, params={"fieldSelector": "spec.nodeName=n2"})) == ["db-0", "web-2"]
    try:
        f.http.get(f.info["server"] + "/api/v1/pods", timeout=5)
        raise AssertionError("a request without a client certificate should fail")
    except requests.exceptions.RequestException:
        pass
    # The server logs the refused handshake after the client has seen it fail: wait for it.
    deadline = time.monotonic() + 10
    log = f.requests_log()
    while log[-1]["auth"] != "tls-error" and time.monotonic() < deadline:
        time.sleep(0.05)
        log = f.requests_log()
    assert log[0]["auth"] == "cert" and log[0]["user"] == "collectord" and log[-1]["auth"] == "tls-error", log
    check_official_client(f)
    check_official_client(f, context="fake-alt")
    assert f.requests_log()[-1]["user"] == "collectord-alt"


def check_scale():
    f = Fake("--scale-nodes", "1000", "--scale-pods-per-node", "50")
    try:
        assert f.startup < 10, f.startup
        started = time.monotonic()
        pods = f.get("/api/v1/pods", fieldSelector="spec.nodeName=node-0500").json()["items"]
        took = time.monotonic() - started
        assert len(pods) == 50 and {p["spec"]["nodeName"] for p in pods} == {"node-0500"}, len(pods)
        assert len({p["status"]["podIP"] for p in pods}) == 50 and took < 1, took
        kinds = {p["metadata"]["ownerReferences"][0]["kind"] for p in pods}
        assert kinds == {"ReplicaSet", "DaemonSet", "StatefulSet", "Job"}, kinds
        state = requests.get(f"http://127.0.0.1:{f.info['control_port']}/_control/state").json()
        assert state["pods"] == 50000, state
        assert f.control("scale", {"nodes": 3, "pods_per_node": 2})["pods"] == 6
        assert len(f.get("/api/v1/namespaces/scale-1/pods").json()["items"]) == 3
        print(f"    scale: started in {f.startup:.2f}s, one node's list in {took * 1000:.0f} ms")
    finally:
        f.stop()


def main():
    results = []

    def run(name, fn, *args):
        try:
            fn(*args)
            results.append(True)
            print(f"ok   {name}")
        except Exception:
            results.append(False)
            print(f"FAIL {name}\n{traceback.format_exc()}")

    plain = Fake()
    for name, fn in [("list, selectors, paging, auth", check_list), ("watch", check_watch), ("tokens", check_tokens),
                     ("EndpointSlices: list, watch, endpoint changes, bookmarks, 410", check_endpoint_slices)]:
        run(f"http: {name}", fn, plain)
    plain.stop()
    tls = Fake("--tls")
    for name, fn in [("list, selectors, paging, auth", check_list), ("watch", check_watch),
                     ("official client (kubeconfig)", check_official_client), ("in-cluster", check_incluster),
                     ("tokens", check_tokens),
                     ("EndpointSlices: list, watch, endpoint changes, bookmarks, 410", check_endpoint_slices),
                     ("EndpointSlices: official client's DiscoveryV1Api and models", check_endpoint_slices_official_client)]:
        run(f"https+token: {name}", fn, tls)
    tls.stop()
    certs = Fake("--client-cert-auth", "--key-type", "rsa")
    run("https+client certs: requests, official client, fake-alt context", check_client_certs, certs)
    certs.stop()
    run("scale 1000 x 50", check_scale)
    print(f"{results.count(True)} passed, {results.count(False)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
