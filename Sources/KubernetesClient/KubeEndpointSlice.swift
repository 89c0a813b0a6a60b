/// A `discovery.k8s.io/v1` EndpointSlice, with only what a resolver of a Service's backends
/// reads: the addresses of each endpoint, its conditions and hostname, the slice's ports and
/// address type. A Service has one or more slices (the EndpointSlice controller splits them at
/// 100 endpoints, and keeps one set per address family), all labelled
/// `kubernetes.io/service-name: <service>`.
public struct KubeEndpointSlice: Decodable, Sendable, Equatable {
    public struct Conditions: Decodable, Sendable, Equatable {
        /// nil means unknown, which the API says to read as ready.
        public var ready: Bool?
        public var serving: Bool?
        public var terminating: Bool?

        public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
            self.ready = ready
            self.serving = serving
            self.terminating = terminating
        }
    }

    public struct Endpoint: Decodable, Sendable, Equatable {
        /// One address for IPv4 and IPv6 slices (the API allows more; consumers use the first).
        public var addresses: [String]
        public var conditions: Conditions?
        /// Set for the pods of a StatefulSet behind its headless Service (`<hostname>.<service>`).
        public var hostname: String?

        public init(addresses: [String], conditions: Conditions? = nil, hostname: String? = nil) {
            self.addresses = addresses
            self.conditions = conditions
            self.hostname = hostname
        }

        /// Ready and not terminating. A nil `ready` falls back to `serving`, then to ready.
        public var isReady: Bool {
            (conditions?.ready ?? conditions?.serving ?? true) && conditions?.terminating != true
        }
    }

    public struct Port: Decodable, Sendable, Equatable {
        public var name: String?
        public var port: Int?
        public var `protocol`: String?

        public init(name: String? = nil, port: Int? = nil, protocol: String? = nil) {
            self.name = name
            self.port = port
            self.protocol = `protocol`
        }
    }

    public var metadata: KubeObjectMeta
    /// `IPv4`, `IPv6` or `FQDN`.
    public var addressType: String
    public var endpoints: [Endpoint]
    public var ports: [Port]

    public init(metadata: KubeObjectMeta, addressType: String, endpoints: [Endpoint], ports: [Port] = []) {
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    private enum CodingKeys: String, CodingKey { case metadata, addressType, endpoints, ports }

    /// `endpoints` and `ports` may be null or absent (an empty slice).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try c.decode(KubeObjectMeta.self, forKey: .metadata)
        addressType = try c.decodeIfPresent(String.self, forKey: .addressType) ?? ""
        endpoints = try c.decodeIfPresent([Endpoint].self, forKey: .endpoints) ?? []
        ports = try c.decodeIfPresent([Port].self, forKey: .ports) ?? []
    }

    /// The label every slice of a Service carries.
    public static let serviceNameLabel = "kubernetes.io/service-name"
}

extension KubeEndpointSlice: KubeWatchable {
    public static var collectionPath: String { "/apis/discovery.k8s.io/v1/endpointslices" }

    /// The slices of one namespace.
    public static func collectionPath(namespace: String) -> String {
        "/apis/discovery.k8s.io/v1/namespaces/\(namespace)/endpointslices"
    }
}

public typealias EndpointSliceWatcher = KubeWatcher<KubeEndpointSlice>

extension KubeWatcher where Object == KubeEndpointSlice {
    /// Watches the slices of `service` in `namespace` (the label selector
    /// `kubernetes.io/service-name=<service>` on the namespace's collection).
    public convenience init(client: KubeAPIClient, service: String, namespace: String, watchTimeoutSeconds: Int = 300,
                            keepsObjects: Bool = true,
                            backoffMillis: @escaping @Sendable (_ attempt: Int) -> Int = KubeWatcher.jitteredBackoff,
                            onFailure: @escaping @Sendable (KubeError) -> Void = { _ in },
                            onChange: @escaping @Sendable (Change) -> Void = { _ in }) {
        self.init(client: client, path: KubeEndpointSlice.collectionPath(namespace: namespace),
                  selectors: .init(label: "\(KubeEndpointSlice.serviceNameLabel)=\(service)"),
                  watchTimeoutSeconds: watchTimeoutSeconds, keepsObjects: keepsObjects, backoffMillis: backoffMillis,
                  onFailure: onFailure, onChange: onChange)
    }
}
