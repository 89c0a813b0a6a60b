import CollectorCore
import FoundationEssentials
import Glibc
import HTTPClient

/// Where the Kubernetes API is and how to authenticate to it: in-cluster (the service
/// account's token, re-read from its file on every request so a rotated token is used at
/// once, and its CA), or a kubeconfig (`KUBECONFIG` or `kube_config_path`, a `context` or the
/// current one; a bearer token, or a client certificate and key as files or `*-data`).
public struct KubeConnection: Sendable {
    public enum Token: Sendable, Equatable {
        case none
        case fixed(String)
        /// Read from this file for each request (projected service account tokens rotate).
        case file(String)
    }

    public var endpoint: HTTPEndpoint
    public var tls: TLSClientSettings
    public var token: Token

    public init(endpoint: HTTPEndpoint, tls: TLSClientSettings = TLSClientSettings(), token: Token = .none) {
        self.endpoint = endpoint
        self.tls = tls
        self.token = token
    }

    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// `KUBERNETES_SERVICE_HOST` / `_PORT`, the token and CA under `directory`.
    public static func inCluster(environment: [String: String], directory: String = serviceAccountDirectory) throws(KubeError) -> KubeConnection {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"].flatMap({ Int($0) }) else {
            throw KubeError.config("auth_type serviceAccount: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?)")
        }
        let tokenPath = directory + "/token"
        guard access(tokenPath, R_OK) == 0 else {
            throw KubeError.config("auth_type serviceAccount: cannot read the service account token \(tokenPath): \(String(cString: strerror(errno)))")
        }
        var tls = TLSClientSettings()
        tls.caFile = directory + "/ca.crt"
        return KubeConnection(endpoint: HTTPEndpoint(host: host, port: port, tls: true), tls: tls, token: .file(tokenPath))
    }

    /// `auth_type: none`: the in-cluster address without credentials and without verifying
    /// the server's certificate, as upstream's `none` (no token means no CA either, usually).
    public static func anonymous(environment: [String: String]) throws(KubeError) -> KubeConnection {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"].flatMap({ Int($0) }) else {
            throw KubeError.config("auth_type none: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
        }
        var tls = TLSClientSettings()
        tls.insecureSkipVerify = true
        return KubeConnection(endpoint: HTTPEndpoint(host: host, port: port, tls: true), tls: tls, token: .none)
    }

    /// The kubeconfig at `path` (else `KUBECONFIG`'s first file, else ~/.kube/config), with
    /// `context` (else its current-context).
    public static func kubeconfig(path: String?, context: String?, environment: [String: String]) throws(KubeError) -> KubeConnection {
        let file = path ?? environment["KUBECONFIG"]?.split(separator: ":").first.map(String.init)
            ?? ((environment["HOME"] ?? "") + "/.kube/config")
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw KubeError.config("kubeconfig \(file): cannot read it: \(error)")
        }
        let root: ConfigNode
        do {
            root = try YAMLLoader.load(text, environment: [:])
        } catch {
            throw KubeError.config("kubeconfig \(file): \(error)")
        }
        let base = URL(fileURLWithPath: file).deletingLastPathComponent().path
        return try Kubeconfig(root: root, file: file, directory: base).connection(context: context)
    }

    /// What a component without auth settings uses (upstream's loadbalancing exporter goes
    /// through controller-runtime's GetConfig, in this order): `KUBECONFIG` when set, else the
    /// in-cluster service account when `KUBERNETES_SERVICE_HOST` is set, else ~/.kube/config.
    public static func automatic(environment: [String: String], directory: String = serviceAccountDirectory) throws(KubeError) -> KubeConnection {
        if let file = environment["KUBECONFIG"], !file.isEmpty {
            return try kubeconfig(path: nil, context: nil, environment: environment)
        }
        if let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty {
            return try inCluster(environment: environment, directory: directory)
        }
        return try kubeconfig(path: nil, context: nil, environment: environment)
    }

    /// The namespace this process's pod runs in: the service account's `namespace` file, else
    /// `POD_NAMESPACE`, else `K8S_NAMESPACE` (the Helm chart's downward-API variable); nil when
    /// none says (not in a pod).
    public static func podNamespace(environment: [String: String], directory: String = serviceAccountDirectory) -> String? {
        if let text = try? String(contentsOfFile: directory + "/namespace", encoding: .utf8) {
            let namespace = text.trimmingWhitespace
            if !namespace.isEmpty { return namespace }
        }
        for name in ["POD_NAMESPACE", "K8S_NAMESPACE"] {
            if let namespace = environment[name], !namespace.isEmpty { return namespace }
        }
        return nil
    }

    /// The value of the Authorization header, if any.
    func authorization() throws(KubeError) -> String? {
        switch token {
        case .none: return nil
        case .fixed(let t): return "Bearer \(t)"
        case .file(let path):
            do {
                let t = try String(contentsOfFile: path, encoding: .utf8).trimmingWhitespace
                return "Bearer \(t)"
            } catch {
                throw KubeError.config("cannot read the token \(path): \(error)")
            }
        }
    }
}

/// The parts of a kubeconfig a connection needs.
struct Kubeconfig {
    let root: ConfigNode
    let file: String
    let directory: String

    private func named(_ list: String, _ name: String) -> ConfigNode? {
        guard case .sequence(let items) = root[list]?.value else { return nil }
        return items.first { $0["name"]?.scalar == name }
    }

    private func path(_ value: String) -> String { value.hasPrefix("/") ? value : directory + "/" + value }

    private func data(_ node: ConfigNode?, _ key: String) throws(KubeError) -> [UInt8]? {
        guard let text = node?[key]?.scalar else { return nil }
        guard let bytes = Data(base64Encoded: text.filter { !$0.isWhitespace }) else {
            throw KubeError.config("kubeconfig \(file): \(key) is not base64")
        }
        return Array(bytes)
    }

    func connection(context wanted: String?) throws(KubeError) -> KubeConnection {
        guard let name = wanted ?? root["current-context"]?.scalar, !name.isEmpty else {
            throw KubeError.config("kubeconfig \(file): no context given and no current-context")
        }
        guard let context = named("contexts", name)?["context"] else {
            throw KubeError.config("kubeconfig \(file): no context \"\(name)\"")
        }
        guard let clusterName = context["cluster"]?.scalar, let cluster = named("clusters", clusterName)?["cluster"] else {
            throw KubeError.config("kubeconfig \(file): context \"\(name)\" names no known cluster")
        }
        guard let server = cluster["server"]?.scalar, let endpoint = HTTPEndpoint(server) else {
            throw KubeError.config("kubeconfig \(file): cluster \"\(clusterName)\" has no valid server URL")
        }
        var tls = TLSClientSettings()
        if let ca = cluster["certificate-authority"]?.scalar { tls.caFile = path(ca) }
        tls.caPEM = try data(cluster, "certificate-authority-data")
        tls.insecureSkipVerify = cluster["insecure-skip-tls-verify"]?.scalar == "true"
        tls.serverNameOverride = cluster["tls-server-name"]?.scalar
        var token = KubeConnection.Token.none
        if let userName = context["user"]?.scalar {
            guard let user = named("users", userName)?["user"] else {
                throw KubeError.config("kubeconfig \(file): context \"\(name)\" names no known user \"\(userName)\"")
            }
            if let t = user["token"]?.scalar { token = .fixed(t) }
            if let f = user["tokenFile"]?.scalar { token = .file(path(f)) }
            if let c = user["client-certificate"]?.scalar { tls.certFile = path(c) }
            if let k = user["client-key"]?.scalar { tls.keyFile = path(k) }
            tls.certPEM = try data(user, "client-certificate-data")
            tls.keyPEM = try data(user, "client-key-data")
            if user["exec"] != nil || user["auth-provider"] != nil {
                throw KubeError.config("kubeconfig \(file): user \"\(userName)\" uses exec/auth-provider credentials, which are not supported (use a token or a client certificate)")
            }
        }
        return KubeConnection(endpoint: endpoint, tls: tls, token: token)
    }
}

/// A Kubernetes client failure, with its retry meaning.
public enum KubeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Bad configuration or credentials that cannot be read: not worth retrying as is.
    case config(String)
    /// The server could not be reached or the answer broke off: retry with backoff.
    case transport(String)
    /// The server answered with an error status (and its Status message).
    case status(Int, String)
    /// `410 Gone`: the resourceVersion is too old; list again.
    case gone(String)
    /// The answer is not what the API sends.
    case malformed(String)

    public var description: String {
        switch self {
        case .config(let m), .transport(let m), .malformed(let m), .gone(let m): m
        case .status(let code, let m): "Kubernetes API answered \(code): \(m)"
        }
    }
}
