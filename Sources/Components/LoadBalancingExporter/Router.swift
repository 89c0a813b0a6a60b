import CollectorCore
import OTLPCodec

/// How a batch is split among backends: each span (log record) goes to the backend the ring
/// gives its routing key, and each backend's share becomes one request of its own (on the wire
/// format: resources and scopes repeated as needed, items copied as they are).
public enum RoutingKey: String, Sendable, Equatable {
    /// The 16 raw trace-id bytes: every span of a trace on one backend. An item without a
    /// trace id is routed by an empty key (one same backend), not at random as upstream.
    case traceID
    /// `service.name=<value>|` of the item's resource (upstream's key since #46420).
    case service
}

enum Router {
    struct Share: Sendable, Equatable {
        var endpoint: String
        var payload: [UInt8]
        var items: Int
    }

    /// The shares of `payload` (a serialized request of `signal`) on `ring`; the whole payload,
    /// unchanged, when every item goes to one backend. Empty for an empty ring.
    static func split(_ signal: Signal, _ payload: [UInt8], key: RoutingKey, ring: HashRing) throws(OTLPDecodeError) -> [Share] {
        guard !ring.items.isEmpty else { return [] }
        let otlp = OTLPSignal(signal)
        return try payload.withBytes { (raw) throws(OTLPDecodeError) -> [Share] in
            // Per item: its trace id and its resource's service, in wire order.
            let keys: [[UInt8]]
            switch (otlp, key) {
            case (.traces, .traceID): keys = try OTLPScanner.spans(raw).spans.map { $0.traceID?.bytes ?? [] }
            case (.logs, .traceID): keys = try OTLPScanner.logs(raw).records.map { $0.traceID?.bytes ?? [] }
            case (.traces, .service):
                let scan = try OTLPScanner.spans(raw)
                let services = scan.services.map { HashRing.serviceKey($0 == OTLPScanner.unknownService ? nil : $0) }
                keys = scan.spans.map { services[$0.resource] }
            case (.logs, .service):
                let scan = try OTLPScanner.logs(raw)
                let services = scan.services.map { HashRing.serviceKey($0 == OTLPScanner.unknownService ? nil : $0) }
                keys = scan.records.map { services[$0.resource] }
            case (.metrics, _):
                // Not reachable: the factory's signals leave metrics out, so no pipeline
                // hands this exporter any (the config is refused).
                preconditionFailure("the loadbalancing exporter routes no metrics")
            }
            var endpointOf: [[UInt8]: String] = [:]
            var members: [String: [Int]] = [:]
            for (index, key) in keys.enumerated() {
                let endpoint: String
                if let known = endpointOf[key] {
                    endpoint = known
                } else {
                    endpoint = ring.endpoint(for: key) ?? ""
                    endpointOf[key] = endpoint
                }
                members[endpoint, default: []].append(index)
            }
            if members.count == 1, let (endpoint, items) = members.first {
                return [Share(endpoint: endpoint, payload: payload, items: items.count)]
            }
            let layout = try OTLPRequestLayout(otlp, raw)
            return members.sorted { $0.key < $1.key }.map { endpoint, items in
                Share(endpoint: endpoint, payload: layout.write(items, from: raw), items: items.count)
            }
        }
    }
}
