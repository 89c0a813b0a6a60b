#!/usr/bin/env python3
"""A fake Kubernetes API server (pods, namespaces, EndpointSlices: list and watch) for the tests.

    .venv/bin/python Tests/EndToEndTests/clients/fake_kube_api.py [--port 0] [--control-port 0]
        [--tls] [--client-cert-auth] [--token T] [--key-type ec|rsa] [--state-dir DIR]
        [--scale-nodes N --scale-pods-per-node M] [--preset FILE.json] [--bookmark-interval 1]

--client-cert-auth implies --tls and requires a client certificate (ssl.CERT_REQUIRED). The
preset is {"namespaces": [spec], "pods": [spec], "endpointslices": [spec]}. Prints ONE JSON line on stdout:
  {"port", "control_port", "scheme", "server", "ca_file", "client_cert", "client_key",
   "kubeconfig", "serviceaccount_dir", "token", "alt_token", "cluster_uid", "state_dir",
   "resource_version"}
and serves until SIGTERM/SIGINT (exit 0). <state-dir> (default: a new temp dir) gets pki/ (CA,
server cert with SAN IP:127.0.0.1 and DNS:localhost, client certs CN=collectord and
CN=collectord-alt, made by openssl), kubeconfig and serviceaccount/{token,ca.crt,namespace}.
The kubeconfig's context "fake" (current) has certificate-authority-data and the token (or
client-certificate-data/client-key-data); "fake-alt" has certificate-authority as a path and
the alt token (or the alt certificate as file paths). The request log's "user" tells them apart.

API on 127.0.0.1:port (a valid bearer token, or with --client-cert-auth a client certificate):
  GET /api/v1/pods, /api/v1/namespaces/{ns}/pods[/{name}], /api/v1/namespaces[/{name}],
  /apis/discovery.k8s.io/v1/endpointslices, /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices[/{name}]
  with fieldSelector, labelSelector, limit, continue; watch=1|true with resourceVersion,
  allowWatchBookmarks=true, timeoutSeconds (/api/v1/watch/... and /apis/discovery.k8s.io/v1/watch/...
  too). A watch answers 200 with
  chunked application/json, one {"type","object"} per line.
resourceVersions: one global counter, like etcd's revision; each change takes the next value,
and a list's metadata.resourceVersion is the counter then. A watch from R gets the changes
after R; R "" or "0" first gets every current object as ADDED. R below the compaction point is
too old: 200 and one ERROR event (Status 410 Expired "too old resource version: R (C)"), or
HTTP 410 with that Status after compact {"style": "http"}.

Control API: plain HTTP on 127.0.0.1:control_port, no auth, JSON; POST /_control/<action>:
  pods               pod spec or list; upsert (given keys replace the stored ones) -> ADDED or
                     MODIFIED. {"name", "namespace": "default", "node", "ip", "ips", "host_ip",
                     "uid", "labels", "annotations", "owner": {"kind": Deployment|ReplicaSet|
                     DaemonSet|StatefulSet|Job|CronJob, "name"}, "containers": [{"name",
                     "image", "id", "image_id", "restart_count"}], "start_time", "creation_time"
                     (RFC3339 or epoch seconds), "phase": "Running", "host_network"}
  pods/delete        {"namespace", "name"} or list
  namespaces         {"name", "uid", "labels", "annotations", "phase"} or list
  namespaces/delete  {"name"} or list
  endpointslices     slice spec or list; upsert -> ADDED or MODIFIED (the EndpointSlice
                     controller's labels kubernetes.io/service-name and managed-by, the Service
                     as owner). {"name", "namespace": "default", "service": name, "address_type":
                     IPv4|IPv6 (from the first address), "ports": [{"name", "port", "protocol"}]
                     (default otlp 4317/TCP), "labels", "endpoints": [{"ip" | "addresses",
                     "ready": true, "serving": ready, "terminating": false, "hostname", "node",
                     "zone", "pod"}]}
  endpointslices/endpoints  {"namespace", "name", "set": [endpoint spec], "remove": [address]}:
                     one MODIFIED: endpoints matched by their first address are updated (given
                     keys replace), new ones appended, "remove" ones taken out; so a pod is
                     added, removed, or marked not ready / terminating
  endpointslices/delete  {"namespace", "name"} or list
  cut-watches        close every open watch socket without the final chunk
  fail-watches       {"count": 1, "style": "event"|"http"}: the next watches get 410
  compact            {"style": "event"|"http", "cut": false}: every resourceVersion handed out
                     so far becomes too old for a new watch (open watches go on unless cut)
  rotate-token       {"token": random, "grace_seconds": 0 | S | null (old one stays valid)};
                     rewrites serviceaccount/token and the kubeconfig
  bookmark           a BOOKMARK now on every watch that allows them
  scale              {"nodes", "pods_per_node"}: replaces all pods (no events), compacts, cuts
  requests/clear
Answers: {"resourceVersion", ...} ("objects" as the API sends them, "cut", "token", ...).
GET /_control/requests -> {"requests": [{"seq", "time", "method", "path", "query", "watch",
  "status", "auth": token|cert|invalid-token|none|tls-error, "user"}]};
GET /_control/state -> {"resource_version", "compacted", "pods", "namespaces", "endpointslices",
  "open_watches"}.
"""
from __future__ import annotations

import argparse, base64, json, os, re, secrets, signal, socket, ssl, subprocess, sys
import tempfile, threading, time
from bisect import bisect_right
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import yaml  # comes with the kubernetes client
import fake_kube_objects as ko

BUILD = {"Pod": ko.build_pod, "Namespace": ko.build_namespace, "EndpointSlice": ko.build_endpoint_slice}
NAMESPACED = ("Pod", "EndpointSlice")


class Expired(Exception):
    pass


class Store:
    """Objects, their history and the watch controls, all behind one condition variable.

    specs[kind] holds every object's spec by key ("ns/name" for pods and EndpointSlices, "name"
    for namespaces);
    objects[kind] caches the built API JSON, so scale pods are built when first read. history
    is (rv, kind, type, object, previous object) for the changes after `compacted`.
    """

    def __init__(self):
        self.cond = threading.Condition()
        self.rv = self.compacted = 100  # a new watch needs R >= compacted
        self.lost = 0  # an open watch needs cursor >= lost (rv of the last change forgotten)
        self.history: list[tuple] = []
        self.specs = {kind: {} for kind in BUILD}
        self.objects = {kind: {} for kind in BUILD}
        self.by_node: dict[str, set] = {}
        self.created = self.cut_gen = self.bookmark_gen = self.open_watches = 0
        self.fail_watches: list[str] = []
        self.expired_style = "event"

    def get(self, kind, key):
        obj = self.objects[kind].get(key)
        if obj is None and key in self.specs[kind]:
            obj = self.objects[kind][key] = BUILD[kind](self.specs[kind][key])
        return obj

    def snapshot(self, kind, fields, labels, start="", limit=0):
        """(matching objects in key order after `start`, continue key or None, keys left)."""
        terms = {path: value for path, equal, value in fields if equal}
        if kind == "Pod" and "spec.nodeName" in terms:  # the node index: no other pod is built
            keys = self.by_node.get(terms["spec.nodeName"], ())
        elif kind in NAMESPACED and "metadata.namespace" in terms:
            keys = [k for k in self.specs[kind] if k.startswith(terms["metadata.namespace"] + "/")]
        else:
            keys = self.specs[kind]
        keys = sorted(k for k in keys if k > start)
        items = []
        for i, key in enumerate(keys):
            if ko.matches(obj := self.get(kind, key), fields, labels):
                items.append(obj)
                if len(items) == limit and i + 1 < len(keys):
                    return items, key, len(keys) - i - 1
        return items, None, 0

    def events_after(self, cursor):
        if cursor < self.lost:
            raise Expired(f"too old resource version: {cursor} ({self.compacted})")
        return self.history[bisect_right(self.history, cursor, key=lambda e: e[0]):]

    def _change(self, kind, typ, obj, prev):
        self.history.append((self.rv, kind, typ, obj, prev))
        self.cond.notify_all()
        return obj

    def _index(self, kind, key, spec, add):
        if kind == "Pod" and spec.get("node"):
            nodes = self.by_node.setdefault(spec["node"], set())
            nodes.add(key) if add else nodes.discard(key)

    def upsert(self, kind, spec):
        spec = dict(spec)
        if kind in NAMESPACED:
            spec.setdefault("namespace", "default")
            if spec["namespace"] not in self.specs["Namespace"]:
                self.upsert("Namespace", {"name": spec["namespace"]})
        key = f"{spec['namespace']}/{spec['name']}" if kind in NAMESPACED else spec["name"]
        old = self.specs[kind].get(key)
        prev = self.get(kind, key)
        if old:
            self._index(kind, key, old, False)
            spec = {**old, **spec}
        else:
            self.created += 1
            spec.setdefault("uid", ko.uid_for(kind, key, self.created))
            spec.setdefault("creation_time", ko.now())
        self.rv += 1
        spec["_rv"] = self.rv
        self.specs[kind][key], obj = spec, BUILD[kind](spec)
        self.objects[kind][key] = obj
        self._index(kind, key, spec, True)
        return self._change(kind, "MODIFIED" if prev else "ADDED", obj, prev)

    def delete(self, kind, key):
        if key not in self.specs[kind]:
            return None
        prev = self.get(kind, key)
        self._index(kind, key, self.specs[kind].pop(key), False)
        del self.objects[kind][key]
        self.rv += 1
        return self._change(kind, "DELETED", at_rv(prev, self.rv), prev)

    def compact(self):
        self.lost = self.history[-1][0] if self.history else self.lost
        self.rv += 1
        self.compacted = self.rv
        self.history.clear()

    def load_scale(self, nodes, per_node):
        """The scale scenario as a fresh state: N x M pod specs (objects built on first read)."""
        for table in (self.specs["Pod"], self.objects["Pod"], self.by_node):
            table.clear()
        for n in range(ko.SCALE_NAMESPACES):
            self.upsert("Namespace", {"name": f"scale-{n}", "labels": {"scale": "true"}})
        for i in range(nodes):
            keys = self.by_node[ko.scale_node(i)] = set()
            for j in range(per_node):
                spec = ko.scale_pod_spec(i, j, per_node)
                spec["_rv"] = self.rv + 1 + i * per_node + j
                key = f"{spec['namespace']}/{spec['name']}"
                self.specs["Pod"][key] = spec
                keys.add(key)
        self.rv += nodes * per_node
        self.compact()
        self.cut_gen += 1
        self.cond.notify_all()


def at_rv(obj, rv):
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(rv)}}


def translate(event, kind, fields, labels):
    """The event as one watch sees it. An object that starts matching its selectors is ADDED.
    One that stops matching is DELETED, sent as its previous state at the event's
    resourceVersion, like the API server's watch cache."""
    rv, ev_kind, typ, obj, prev = event
    if ev_kind != kind:
        return None
    now_in = typ != "DELETED" and ko.matches(obj, fields, labels)
    was_in = prev is not None and ko.matches(prev, fields, labels)
    if typ == "DELETED" or not now_in:
        return ("DELETED", obj if typ == "DELETED" else at_rv(prev, rv)) if was_in else None
    return ("MODIFIED" if was_in else "ADDED", obj)


class Tokens:
    """Accepted bearer tokens: token -> (user, expiry or None)."""

    def __init__(self, primary):
        self.primary, self.alt, self.rotations = primary, "fake-alt-" + secrets.token_hex(16), 0
        self.accepted = {primary: ("primary", None), self.alt: ("alt", None)}

    def user(self, token):
        user, expiry = self.accepted.get(token, (None, None))
        return user if expiry is None or time.time() < expiry else None

    def rotate(self, new, grace):
        old, self.primary = self.primary, new
        self.rotations += 1
        if grace == 0:
            self.accepted.pop(old, None)
        elif grace is not None:
            self.accepted[old] = (self.accepted[old][0], time.time() + grace)
        self.accepted[new] = (f"rotated-{self.rotations}", None)


# ------------------------------------------------------------------------------------------
# Files: certificates (openssl CLI), kubeconfig, service account directory.

def _write(path, data, mode=0o644):
    with open(path + ".tmp", "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path + ".tmp", mode)
    os.replace(path + ".tmp", path)  # atomic, like the kubelet's projected volume swap


def make_pki(d, key_type):
    """CA, server and two client certificates; kept when already in d."""
    p = lambda name: os.path.join(d, name)
    if os.path.exists(p("client-alt.crt")):
        return
    os.makedirs(d, exist_ok=True)
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)
    algo = (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"] if key_type == "ec"
            else ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    run("genpkey", *algo, "-out", p("ca.key"))
    run("req", "-x509", "-new", "-key", p("ca.key"), "-subj", "/CN=fake-kube-ca", "-days", "3650",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", p("ca.crt"))
    for name, subject, ext in [
            ("server", "/CN=localhost", "serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost"),
            ("client", "/O=collectord/CN=collectord", "clientAuth"),
            ("client-alt", "/O=collectord/CN=collectord-alt", "clientAuth")]:
        run("genpkey", *algo, "-out", p(name + ".key"))
        run("req", "-new", "-key", p(name + ".key"), "-subj", subject, "-out", p(name + ".csr"))
        _write(p(name + ".ext"), "basicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\n"
               "authorityKeyIdentifier=keyid\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
               f"extendedKeyUsage={ext}\n")
        run("x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
            "-set_serial", str(secrets.randbits(63)), "-days", "825", "-extfile", p(name + ".ext"),
            "-out", p(name + ".crt"))


def write_client_files(app):
    """The kubeconfig and serviceaccount/ for the current tokens (rewritten on rotation)."""
    a, pki, sa = app.args, app.pki, app.serviceaccount_dir
    read = lambda name: open(os.path.join(pki, name), "rb").read()
    b64 = lambda name: base64.b64encode(read(name)).decode()
    cluster, alt_cluster = {"server": app.server}, {"server": app.server}
    if a.tls:
        cluster["certificate-authority-data"] = b64("ca.crt")
        alt_cluster["certificate-authority"] = os.path.join(pki, "ca.crt")
    if a.client_cert_auth:
        user = {"client-certificate-data": b64("client.crt"), "client-key-data": b64("client.key")}
        alt_user = {"client-certificate": os.path.join(pki, "client-alt.crt"),
                    "client-key": os.path.join(pki, "client-alt.key")}
    else:
        user, alt_user = {"token": app.tokens.primary}, {"token": app.tokens.alt}
    context = lambda name, ns: {"name": name, "context": {"cluster": name, "user": name, "namespace": ns}}
    _write(app.kubeconfig, yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": cluster}, {"name": "fake-alt", "cluster": alt_cluster}],
        "users": [{"name": "fake", "user": user}, {"name": "fake-alt", "user": alt_user}],
        "contexts": [context("fake", "default"), context("fake-alt", "kube-system")]},
        sort_keys=False), 0o600)
    os.makedirs(sa, exist_ok=True)
    _write(os.path.join(sa, "token"), app.tokens.primary)
    _write(os.path.join(sa, "namespace"), "default")
    if a.tls:
        _write(os.path.join(sa, "ca.crt"), read("ca.crt"))


# ------------------------------------------------------------------------------------------
# HTTP

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port, handler, app, ssl_ctx=None):
        self.app, self.ssl_ctx = app, ssl_ctx
        super().__init__(("127.0.0.1", port), handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_ctx:  # the handshake runs in the connection's thread (ApiHandler.setup)
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # ssl.SSLError is an OSError
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer has a length or is chunked

    def log_message(self, fmt, *args):
        pass

    def send_json(self, code, body):
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return code

    def send_status(self, code, reason, message, **details):
        return self.send_json(code, ko.status(code, reason, message, details or None))


ROUTES = [re.compile(r"/api/v1/(watch/)?(?:namespaces/([^/]+)/(?=pods))?(pods|namespaces)(?:/([^/]+))?"),
          re.compile(r"/apis/discovery\.k8s\.io/v1/(watch/)?(?:namespaces/([^/]+)/)?(endpointslices)(?:/([^/]+))?")]
KINDS = {"pods": "Pod", "namespaces": "Namespace", "endpointslices": "EndpointSlice"}


class ApiHandler(_Handler):
    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except OSError as e:
                self.server.app.record("", "", {}, "tls-error", None)["error"] = str(e)
                raise

    def authenticate(self):
        cert = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        if cert:
            return "cert", dict(f[0] for f in cert["subject"]).get("commonName")
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":  # any case, like the API server (the in-cluster Python client says "bearer")
            user = self.server.app.tokens.user(token.strip())
            return ("token", user) if user else ("invalid-token", None)
        return "none", None

    def do_GET(self):
        url = urlsplit(self.path)
        q = dict(parse_qsl(url.query, keep_blank_values=True))
        auth, user = self.authenticate()
        self.entry = self.server.app.record("GET", url.path, q, auth, user)
        try:
            if auth not in ("token", "cert"):
                self.entry["status"] = self.send_status(401, "Unauthorized", "Unauthorized")
            else:
                self.entry["status"] = self.route(url.path, q)
        except ko.SelectorError as e:
            self.entry["status"] = self.send_status(400, "BadRequest", str(e))
        except ValueError as e:  # a malformed limit, timeoutSeconds or continue
            self.entry["status"] = self.send_status(400, "BadRequest", f"invalid request: {e}")

    def do_other(self):  # recorded too; this fake only reads
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        entry = self.server.app.record(self.command, urlsplit(self.path).path, {}, *self.authenticate())
        entry["status"] = self.send_status(405, "MethodNotAllowed", "this fake API server only serves GET")

    do_POST = do_PUT = do_PATCH = do_DELETE = do_other

    def route(self, path, q):
        m = next((m for m in (r.fullmatch(path) for r in ROUTES) if m), None)
        if not m or (m[3] != "namespaces" and m[4] and not m[2]):
            return self.send_status(404, "NotFound", "the server could not find the requested resource")
        kind, ns, name = KINDS[m[3]], m[2], m[4]
        fields = ko.parse_fields(q.get("fieldSelector", ""), kind)
        labels = ko.parse_labels(q.get("labelSelector", ""))
        fields += [("metadata.namespace", True, ns)] if ns else []
        if m[1] or q.get("watch") in ("1", "true"):
            self.entry["watch"] = True
            return self.watch(kind, fields + ([("metadata.name", True, name)] if name else []), labels, q)
        if name:
            store = self.server.app.store
            with store.cond:
                obj = store.get(kind, f"{ns}/{name}" if ns else name)
            if obj is None:
                return self.send_status(404, "NotFound", f'{m[3]} "{name}" not found', name=name, kind=m[3])
            return self.send_json(200, obj)
        return self.list(kind, fields, labels, q)

    def list(self, kind, fields, labels, q):
        store = self.server.app.store
        with store.cond:
            rv, start = store.rv, ""
            if q.get("continue"):
                token = json.loads(base64.urlsafe_b64decode(q["continue"]))
                rv, start = int(token["rv"]), str(token["start"])
                if rv < store.compacted:
                    return self.send_status(410, "Expired", "The provided continue parameter is too old "
                                            "to display a consistent list result.")
            items, last, left = store.snapshot(kind, fields, labels, start, int(q.get("limit") or 0))
        cont = last and base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": last}).encode()).decode()
        meta = ko.k.V1ListMeta(resource_version=str(rv), _continue=cont,
                               remaining_item_count=left if cont and not fields and not labels else None)
        body = ko.sanitize(ko.LIST_MODELS[kind](api_version=ko.API_VERSIONS[kind], kind=kind + "List", items=[],
                                                metadata=meta))
        body["items"] = items  # already API JSON: keeps a 50,000-pod list quick
        return self.send_json(200, body)

    def send_events(self, events):
        """One chunk with one event per line (several when a batch is ready, as a busy server does)."""
        data = b"".join(json.dumps({**ko.sanitize(ko.k.V1WatchEvent(type=t, object={})), "object": o},
                                   separators=(",", ":")).encode() + b"\n" for t, o in events)
        if data:  # an empty chunk would end the stream
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def watch(self, kind, fields, labels, q):
        store, interval = self.server.app.store, self.server.app.args.bookmark_interval
        rv, bookmarks = q.get("resourceVersion", ""), q.get("allowWatchBookmarks") == "true"
        timeout = float(q.get("timeoutSeconds") or 0)
        if rv not in ("", "0") and not rv.isdigit():
            return self.send_status(400, "BadRequest", f"invalid resource version: {rv}")
        with store.cond:
            cursor, style, error, initial = int(rv or 0) or store.rv, store.expired_style, None, []
            if store.fail_watches:
                style, error = store.fail_watches.pop(0), f"too old resource version: {cursor} ({store.rv})"
            elif rv in ("", "0"):
                initial = store.snapshot(kind, fields, labels)[0]
            elif cursor < store.compacted:
                error = f"too old resource version: {cursor} ({store.compacted})"
            cut_gen, bookmark_gen = store.cut_gen, store.bookmark_gen
            store.open_watches += not error
        if error and style == "http":
            return self.send_status(410, "Expired", error)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.entry["status"] = 200
        if error:
            self.send_events([("ERROR", ko.status(410, "Expired", error))])
            self.wfile.write(b"0\r\n\r\n")
            return 200
        deadline = time.monotonic() + timeout if timeout else float("inf")
        next_bookmark = time.monotonic() + interval if bookmarks else float("inf")
        try:
            for i in range(0, len(initial), 200):
                self.send_events([("ADDED", o) for o in initial[i:i + 200]])
            while time.monotonic() < deadline:
                with store.cond:
                    store.cond.wait_for(lambda: store.cut_gen != cut_gen or store.rv > cursor
                                        or (bookmarks and store.bookmark_gen != bookmark_gen)
                                        or time.monotonic() >= min(deadline, next_bookmark),
                                        timeout=min(60, min(deadline, next_bookmark) - time.monotonic()))
                    if store.cut_gen != cut_gen:  # no final chunk, like a dropped connection
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return 200
                    due = bookmarks and (store.bookmark_gen != bookmark_gen or time.monotonic() >= next_bookmark)
                    events = store.events_after(cursor)
                    cursor, bookmark_gen = store.rv, store.bookmark_gen
                out = [e for e in (translate(ev, kind, fields, labels) for ev in events) if e]
                if due:
                    out.append(("BOOKMARK", ko.bookmark(kind, cursor)))
                    next_bookmark = time.monotonic() + interval
                self.send_events(out)
        except Expired as e:  # this watch fell behind history that is gone
            self.send_events([("ERROR", ko.status(410, "Expired", str(e)))])
        except OSError:  # the client went away
            self.close_connection = True
            return 200
        finally:
            with store.cond:
                store.open_watches -= 1
        self.wfile.write(b"0\r\n\r\n")
        return 200


def _items(body):
    return body if isinstance(body, list) else [body]


def _cut(store):
    store.cut_gen += 1
    store.cond.notify_all()
    return {"cut": store.open_watches}


def _compact(store, body):
    store.expired_style = body.get("style", store.expired_style)
    store.compact()
    return _cut(store) if body.get("cut") else {}


def _fail(store, style, count):
    store.fail_watches += [style] * count
    return {"failing": len(store.fail_watches)}


def _set_endpoints(store, body):
    """Updates, adds and removes endpoints of one slice (matched by their first address)."""
    ns, name = body.get("namespace", "default"), body["name"]
    spec = store.specs["EndpointSlice"].get(f"{ns}/{name}")
    if spec is None:
        raise KeyError(f"no EndpointSlice {ns}/{name}")
    endpoints = [dict(e) for e in spec.get("endpoints") or []]
    for change in _items(body.get("set", [])):
        at = next((i for i, e in enumerate(endpoints) if ko.endpoint_key(e) == ko.endpoint_key(change)), None)
        if at is None:
            endpoints.append(dict(change))
        else:
            endpoints[at] = {**endpoints[at], **change}
    gone = set(body.get("remove", []))
    endpoints = [e for e in endpoints if ko.endpoint_key(e) not in gone]
    return {"objects": [store.upsert("EndpointSlice", {"namespace": ns, "name": name, "endpoints": endpoints})]}


def _bookmark(store):
    store.bookmark_gen += 1
    store.cond.notify_all()
    return {}


CONTROL = {  # action -> (app, store, body) -> answer; run under the store's lock
    "pods": lambda a, s, b: {"objects": [s.upsert("Pod", x) for x in _items(b)]},
    "namespaces": lambda a, s, b: {"objects": [s.upsert("Namespace", x) for x in _items(b)]},
    "pods/delete": lambda a, s, b: {"objects": [s.delete("Pod", f"{x.get('namespace', 'default')}/{x['name']}")
                                                for x in _items(b)]},
    "namespaces/delete": lambda a, s, b: {"objects": [s.delete("Namespace", x["name"]) for x in _items(b)]},
    "endpointslices": lambda a, s, b: {"objects": [s.upsert("EndpointSlice", x) for x in _items(b)]},
    "endpointslices/endpoints": lambda a, s, b: _set_endpoints(s, b),
    "endpointslices/delete": lambda a, s, b: {"objects": [s.delete("EndpointSlice", f"{x.get('namespace', 'default')}/{x['name']}")
                                                          for x in _items(b)]},
    "cut-watches": lambda a, s, b: _cut(s),
    "fail-watches": lambda a, s, b: _fail(s, b.get("style", "event"), int(b.get("count", 1))),
    "compact": lambda a, s, b: _compact(s, b),
    "bookmark": lambda a, s, b: _bookmark(s),
    "scale": lambda a, s, b: s.load_scale(int(b["nodes"]), int(b["pods_per_node"])) or {"pods": len(s.specs["Pod"])},
    "rotate-token": lambda a, s, b: a.rotate_token(b.get("token") or "fake-" + secrets.token_hex(16),
                                                   b.get("grace_seconds", 0)),
    "requests/clear": lambda a, s, b: a.log.clear() or {},
}


class ControlHandler(_Handler):
    def do_GET(self):
        app, s, path = self.server.app, self.server.app.store, urlsplit(self.path).path
        with s.cond:
            if path == "/_control/requests":
                return self.send_json(200, {"requests": [dict(e) for e in app.log]})
            if path == "/_control/state":
                return self.send_json(200, {
                    "resource_version": str(s.rv), "compacted": str(s.compacted), "pods": len(s.specs["Pod"]),
                    "namespaces": len(s.specs["Namespace"]), "endpointslices": len(s.specs["EndpointSlice"]),
                    "open_watches": s.open_watches})
        self.send_json(404, {"error": f"no such control endpoint: GET {path}"})

    def do_POST(self):
        app, path = self.server.app, urlsplit(self.path).path.removeprefix("/_control/")
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if path not in CONTROL:
                return self.send_json(404, {"error": f"no such control endpoint: POST /_control/{path}"})
            with app.store.cond:
                answer = CONTROL[path](app, app.store, body)
                self.send_json(200, {"resourceVersion": str(app.store.rv), **answer})
        except (ValueError, KeyError, TypeError) as e:
            self.send_json(400, {"error": f"{type(e).__name__}: {e}"})


class App:
    def __init__(self, args):
        self.args, self.store, self.log = args, Store(), []
        self.tokens = Tokens(args.token or "fake-" + secrets.token_hex(16))
        self.state_dir = args.state_dir or tempfile.mkdtemp(prefix="fake-kube-")
        self.pki = os.path.join(self.state_dir, "pki")
        self.kubeconfig = os.path.join(self.state_dir, "kubeconfig")
        self.serviceaccount_dir = os.path.join(self.state_dir, "serviceaccount")
        self.scheme = "https" if args.tls else "http"

    def record(self, method, path, query, auth, user):
        with self.store.cond:
            entry = {"seq": len(self.log) + 1, "time": time.time(), "method": method, "path": path,
                     "query": query, "auth": auth, "user": user, "watch": False, "status": None}
            self.log.append(entry)
        return entry

    def rotate_token(self, token, grace):
        self.tokens.rotate(token, grace)
        write_client_files(self)
        return {"token": token}


def main():
    ap = argparse.ArgumentParser(description="A fake Kubernetes API server for the end-to-end tests.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--client-cert-auth", action="store_true")
    ap.add_argument("--token")
    ap.add_argument("--key-type", choices=("ec", "rsa"), default="ec")
    ap.add_argument("--state-dir")
    ap.add_argument("--scale-nodes", type=int, default=0)
    ap.add_argument("--scale-pods-per-node", type=int, default=0)
    ap.add_argument("--preset")
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    args = ap.parse_args()
    args.tls = args.tls or args.client_cert_auth
    app = App(args)
    s = app.store
    with s.cond:
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            s.upsert("Namespace", {"name": name})
        preset = json.load(open(args.preset)) if args.preset else {}
        for spec in preset.get("namespaces", []):
            s.upsert("Namespace", spec)
        for spec in preset.get("pods", []):
            s.upsert("Pod", spec)
        for spec in preset.get("endpointslices", []):
            s.upsert("EndpointSlice", spec)
        if args.scale_nodes:
            s.load_scale(args.scale_nodes, args.scale_pods_per_node)
    ctx = None
    if args.tls:
        make_pki(app.pki, args.key_type)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(app.pki, "server.crt"), os.path.join(app.pki, "server.key"))
        ctx.set_alpn_protocols(["http/1.1"])
        if args.client_cert_auth:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(os.path.join(app.pki, "ca.crt"))
    api = _Server(args.port, ApiHandler, app, ctx)
    control = _Server(args.control_port, ControlHandler, app)
    app.server = f"{app.scheme}://127.0.0.1:{api.server_address[1]}"
    write_client_files(app)
    for server in (api, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    pki = lambda name, on: os.path.join(app.pki, name) if on else None
    print(json.dumps({
        "port": api.server_address[1], "control_port": control.server_address[1],
        "scheme": app.scheme, "server": app.server, "ca_file": pki("ca.crt", args.tls),
        "client_cert": pki("client.crt", args.client_cert_auth),
        "client_key": pki("client.key", args.client_cert_auth),
        "kubeconfig": app.kubeconfig, "serviceaccount_dir": app.serviceaccount_dir,
        "token": app.tokens.primary, "alt_token": app.tokens.alt,
        "cluster_uid": s.get("Namespace", "kube-system")["metadata"]["uid"],
        "state_dir": app.state_dir, "resource_version": str(s.rv)}), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    for server in (api, control):
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
