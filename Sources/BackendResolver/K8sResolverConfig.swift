import CollectorCore
import KubernetesClient

/// `resolver.k8s` of the loadbalancing exporter (and the query extension's `peers.k8s`), with
/// upstream's keys and defaults:
///
///     k8s:
///       service: collectord-gateway.observability   # name[.namespace[.svc[.cluster.domain]]]
///       ports: [4317]                              # each ready address with each port
///       timeout: 1s                                # the Kubernetes API's list (and watch start)
///       return_hostnames: false                    # hostname.service.namespace instead of the IP
///
/// Without a namespace the collector's own is used (the service account's namespace file,
/// else `POD_NAMESPACE`; upstream falls back to `default` there, this refuses to guess).
public struct K8sResolverSettings: Sendable, Equatable {
    public var service: String
    /// nil: this pod's namespace (`namespace(environment:)`).
    public var namespace: String?
    public var ports: [Int]
    public var timeoutNanos: UInt64
    public var returnHostnames: Bool

    public static let defaultPort = 4317
    public static let defaultTimeoutNanos: UInt64 = 1_000_000_000

    public init(service: String, namespace: String? = nil, ports: [Int] = [defaultPort],
                timeoutNanos: UInt64 = defaultTimeoutNanos, returnHostnames: Bool = false) {
        self.service = service
        self.namespace = namespace
        self.ports = ports
        self.timeoutNanos = timeoutNanos
        self.returnHostnames = returnHostnames
    }

    /// Reads the `k8s` section; problems (with their YAML path) go to the reader's sink.
    /// `defaultPort` is the port when `ports` is not given (4317, upstream's; the query
    /// extension's peers use 16686).
    public static func read(_ reader: ConfigReader, defaultPort: Int = defaultPort) -> K8sResolverSettings {
        var s = K8sResolverSettings(service: "", ports: [defaultPort])
        let service = reader.string("service", default: "")
        if service.isEmpty {
            reader.problem("service", "is required (name.namespace of the Service whose EndpointSlices to watch)")
        } else if let (name, namespace) = split(service) {
            s.service = name
            s.namespace = namespace
        } else {
            reader.problem("service", "\"\(service)\" is not name, name.namespace or name.namespace.svc.<cluster domain> (lowercase DNS labels)")
        }
        if let node = reader.raw("ports") {
            if case .sequence(let items) = node.value {
                var ports: [Int] = []
                for item in items {
                    guard let text = item.scalar, let port = Int(text), (1...65535).contains(port) else {
                        reader.sink.add(item, "expected a port number 1...65535, found \(item.scalar.map { "\"\($0)\"" } ?? item.kindName)")
                        continue
                    }
                    if !ports.contains(port) { ports.append(port) }
                }
                if items.isEmpty { reader.problem("ports", "must list at least one port") }
                if !ports.isEmpty { s.ports = ports }
            } else {
                reader.sink.add(node, "expected a list of ports, found \(node.kindName)")
            }
        }
        s.timeoutNanos = reader.duration("timeout", default: defaultTimeoutNanos)
        if s.timeoutNanos == 0 { reader.problem("timeout", "must be greater than 0") }
        s.returnHostnames = reader.bool("return_hostnames", default: false)
        return s
    }

    /// `name`, `name.namespace`, or a Service's DNS name `name.namespace.svc[.cluster.local]`.
    static func split(_ text: String) -> (name: String, namespace: String?)? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy(isLabel) else { return nil }
        if parts.count > 2 && parts[2] != "svc" { return nil }
        return (parts[0], parts.count > 1 ? parts[1] : nil)
    }

    /// A DNS-1123 label: what Service and namespace names are.
    static func isLabel(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 63, s.first != "-", s.last != "-" else { return false }
        return s.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") }
    }

    /// The namespace to watch: the configured one, else this pod's.
    public func namespace(environment: [String: String],
                          directory: String = KubeConnection.serviceAccountDirectory) throws(ResolverError) -> String {
        if let namespace { return namespace }
        guard let own = KubeConnection.podNamespace(environment: environment, directory: directory) else {
            throw ResolverError("k8s resolver: service \"\(service)\" names no namespace and this pod's is unknown (no \(directory)/namespace, no POD_NAMESPACE): write service: \(service).<namespace>")
        }
        return own
    }
}
