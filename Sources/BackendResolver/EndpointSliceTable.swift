import KubernetesClient

/// The EndpointSlices of one Service, merged into the backend list a ring is built from.
///
/// A Service's endpoints are spread over several slices (split at 100 endpoints, one set per
/// address family), so a change to one slice only replaces that slice's part: the table keeps
/// every slice by name and derives the list from all of them. Rules:
/// - only ready endpoints that are not terminating (`Endpoint.isReady`): a pod that fails its
///   readiness probe or is shutting down leaves the ring before it is gone;
/// - one address per endpoint (the API's addresses are fungible; the first is used), so a pod
///   is one backend; an endpoint found in two slices at once (the controller moving it) counts once;
/// - one address family: IPv4 slices when the Service has any, else IPv6, else FQDN, so a
///   dual-stack Service does not list each pod twice;
/// - each address with each configured port, `10.0.0.7:4317`, `[fd00::7]:4317`; with
///   `returnHostnames`, `<hostname>.<service>.<namespace>:4317` for an endpoint that has a
///   hostname (StatefulSet pods of a headless Service), its address otherwise.
/// The result is sorted and without duplicates, so every agent watching the same Service
/// builds the same ring.
struct EndpointSliceTable: Sendable {
    let service: String
    let namespace: String
    let ports: [Int]
    let returnHostnames: Bool
    private(set) var slices: [String: KubeEndpointSlice] = [:]

    init(service: String, namespace: String, ports: [Int], returnHostnames: Bool) {
        self.service = service
        self.namespace = namespace
        self.ports = ports
        self.returnHostnames = returnHostnames
    }

    /// Applies a watcher change: a list replaces every slice, an event one slice.
    mutating func apply(_ change: EndpointSliceWatcher.Change) {
        switch change {
        case .synced(let all):
            slices = [:]
            for slice in all where belongs(slice) { slices[slice.metadata.name ?? ""] = slice }
        case .upserted(let slice):
            slices[slice.metadata.name ?? ""] = belongs(slice) ? slice : nil
        case .deleted(let slice):
            slices.removeValue(forKey: slice.metadata.name ?? "")
        }
    }

    /// The sorted `host:port` list of the slices now.
    var endpoints: [String] {
        let types = Set(slices.values.map(\.addressType))
        let family = ["IPv4", "IPv6", "FQDN"].first { types.contains($0) }
        var hosts: Set<String> = []
        for slice in slices.values where slice.addressType == family {
            for endpoint in slice.endpoints where endpoint.isReady {
                guard let address = endpoint.addresses.first, !address.isEmpty else { continue }
                if returnHostnames, let hostname = endpoint.hostname, !hostname.isEmpty {
                    hosts.insert("\(hostname).\(service).\(namespace)")
                } else {
                    hosts.insert(slice.addressType == "IPv6" ? "[\(address)]" : address)
                }
            }
        }
        return hosts.flatMap { host in ports.map { "\(host):\($0)" } }.sorted()
    }

    /// A slice of this Service. The server's selector already says so; checked again so that a
    /// server which sends a relabelled slice as MODIFIED (not DELETED) cannot keep it here.
    private func belongs(_ slice: KubeEndpointSlice) -> Bool {
        guard slice.metadata.namespace.map({ $0 == namespace }) ?? true else { return false }
        return slice.metadata.labels?[KubeEndpointSlice.serviceNameLabel].map { $0 == service } ?? false
    }
}
