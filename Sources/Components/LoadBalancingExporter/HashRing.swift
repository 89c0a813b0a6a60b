internal import CZlib

/// The `loadbalancing` exporter's consistent-hash ring, bit for bit the OpenTelemetry Collector
/// contrib's as of v0.154.0 (PR #41271's construction, in releases from mid-2025 until PR
/// #49585 changed the ring size and weight in 2026), so that a fleet mixing collectord and Go
/// collectors of that line routes every trace to the same backend.
///
/// Why that release: its ring is fully specified by its source and tests (reproduced here, see
/// the tests' vectors); the later ring (200 points, 131071 positions, candidates ordered
/// globally) has an ordering rule we could not read, and a guess would split traces silently.
///
/// Construction: for each endpoint, in sorted order (as upstream's resolvers give them), 100 points
/// `crc32IEEE(utf8(endpoint) ++ le32(i)) % 36000`; a point whose position is taken probes
/// `p+1, p+2, ...` (mod 36000) and takes the first free one within 9 steps, else it is dropped.
/// Lookup: `crc32IEEE(key) % 36000`, then the first point at or after it, wrapping to the
/// first. Keys: the 16 raw trace-id bytes (`routing_key: traceID`), or
/// `"service.name=" + value + "|"` (`routing_key: service`, upstream's key since #46420).
///
/// Endpoint strings are hashed exactly as the resolver writes them (`10.0.0.1` and
/// `10.0.0.1:4317` are different members, as upstream). A value type; immutable once built.
public struct HashRing: Sendable, Equatable {
    public static let maxPositions: UInt32 = 36_000
    public static let defaultWeight = 100
    static let linearProbeLimit = 10

    public struct Item: Sendable, Equatable {
        public var position: UInt32
        public var endpoint: String
    }

    /// Points in position order.
    public let items: [Item]
    /// The distinct endpoints, sorted.
    public let endpoints: [String]

    public init(_ endpoints: [String], weight: Int = HashRing.defaultWeight) {
        self.endpoints = Array(Set(endpoints)).sorted()
        var taken = [Bool](repeating: false, count: Int(Self.maxPositions))
        var items: [Item] = []
        items.reserveCapacity(endpoints.count * weight)
        // In sorted order, as upstream's resolvers hand endpoints over (the order decides who
        // wins a probe).
        for endpoint in endpoints.sorted() {
            for position in Self.positions(for: endpoint, count: weight) {
                var actual = position
                var probed = 0
                while taken[Int(actual)] && probed < Self.linearProbeLimit {
                    actual = (actual + 1) % Self.maxPositions
                    probed += 1
                }
                if probed >= Self.linearProbeLimit { continue }  // no free slot near: the point is dropped
                taken[Int(actual)] = true
                items.append(Item(position: actual, endpoint: endpoint))
            }
        }
        self.items = items.sorted { $0.position < $1.position }
    }

    /// The raw positions of an endpoint's points (before probing).
    static func positions(for endpoint: String, count: Int) -> [UInt32] {
        let name = Array(endpoint.utf8)
        return (0..<count).map { i in
            let index = UInt32(i)
            let suffix: [UInt8] = [UInt8(index & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index >> 16 & 0xFF), UInt8(index >> 24)]
            return crc32IEEE(name + suffix) % maxPositions
        }
    }

    /// The endpoint for a routing key; nil for an empty ring.
    public func endpoint(for key: some Collection<UInt8>) -> String? {
        guard !items.isEmpty else { return nil }
        let position = Self.crc32IEEE(Array(key)) % Self.maxPositions
        var lo = 0
        var hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if items[mid].position < position { lo = mid + 1 } else { hi = mid }
        }
        return items[lo == items.count ? 0 : lo].endpoint
    }

    /// The key of `routing_key: service` for a resource's `service.name` (nil: absent).
    public static func serviceKey(_ service: String?) -> [UInt8] {
        Array("service.name=\(service ?? "")|".utf8)
    }

    static func crc32IEEE(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(truncatingIfNeeded: crc32(0, buffer.baseAddress, uInt(buffer.count)))
        }
    }
}
