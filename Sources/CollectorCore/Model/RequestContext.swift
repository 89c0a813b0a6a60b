/// Where a request came from: the client's address for OTLP (gRPC and HTTP), the file for
/// `filelog`. Enrichment (`k8sattributes`'s `connection` source, the pod uid in a
/// `/var/log/pods/...` path) reads it.
public struct RequestContext: Sendable, Equatable {
    /// The peer, `ip:port` or `[ipv6]:port`.
    public var peerAddress: String?
    /// The tailed file's path.
    public var filePath: String?

    public init(peerAddress: String? = nil, filePath: String? = nil) {
        self.peerAddress = peerAddress
        self.filePath = filePath
    }

    /// The peer's IP without its port (and without brackets), if any.
    public var peerIP: String? {
        guard let peer = peerAddress, !peer.isEmpty else { return nil }
        if peer.hasPrefix("[") {
            guard let close = peer.firstIndex(of: "]") else { return nil }
            return String(peer[peer.index(after: peer.startIndex)..<close])
        }
        // A bare IPv6 address has several colons and no port.
        guard let colon = peer.lastIndex(of: ":"), peer.firstIndex(of: ":") == colon else { return peer }
        return String(peer[..<colon])
    }
}

/// `resources` consecutive resource entries (`resource_spans` / `resource_logs`) of a batch's
/// payload that came from `context`. A batch's origins, in payload order, cover all of its
/// resource entries, or the batch has none (its origin is unknown).
public struct BatchOrigin: Sendable, Equatable {
    public var resources: Int
    public var context: RequestContext

    public init(resources: Int, context: RequestContext) {
        self.resources = resources
        self.context = context
    }
}

extension [BatchOrigin] {
    /// The context of resource entry `index` (0-based, payload order), if known.
    public func context(ofResource index: Int) -> RequestContext? {
        var first = 0
        for run in self {
            if index < first + run.resources { return run.context }
            first += run.resources
        }
        return nil
    }

    /// Total resource entries covered.
    public var resourceCount: Int { reduce(0) { $0 + $1.resources } }

    /// The origins of a payload rewritten from this one whose resource entries are, in order,
    /// the old entries `kept` (an index may repeat, as when a split cuts a resource in two).
    /// Empty when this is empty or an index is out of range.
    public func remapped(keeping kept: some Sequence<Int>) -> [BatchOrigin] {
        guard !isEmpty else { return [] }
        var contexts: [RequestContext] = []
        for run in self { contexts.append(contentsOf: repeatElement(run.context, count: run.resources)) }
        var out: [BatchOrigin] = []
        for index in kept {
            guard index >= 0, index < contexts.count else { return [] }
            out.appendRun(BatchOrigin(resources: 1, context: contexts[index]))
        }
        return out
    }

    /// These origins for a payload made from theirs by dropping (never adding or reordering)
    /// entries: still right when it has as many resource entries (`resourceCount`, only
    /// evaluated when there are origins), else unknown.
    public func kept(ifResourceCount count: @autoclosure () -> Int) -> [BatchOrigin] {
        guard !isEmpty, count() == resourceCount else { return [] }
        return self
    }

    /// Appends `run`, merged into the last run when their contexts are equal.
    public mutating func appendRun(_ run: BatchOrigin) {
        guard run.resources > 0 else { return }
        if let last = indices.last, self[last].context == run.context {
            self[last].resources += run.resources
        } else {
            append(run)
        }
    }
}
