@testable import LoadBalancingExporter
import Testing

/// The ring against upstream's own test vectors (contrib's consistent_hashing_test.go of the
/// #41271 ring, as in v0.154.0), and the routing keys.
@Suite struct HashRingTests {
    @Test func positionsAreUpstreams() {
        #expect(HashRing.positions(for: "endpoint-1", count: 5).sorted() == [0x21ca, 0x29d3, 0x3984, 0x5eaf, 0x8bc1])
        let ring = HashRing(["endpoint-A", "endpoint-B"], weight: 5)
        #expect(ring.items.map(\.position) == [0xdde, 0x162e, 0x21f5, 0x34e5, 0x61fb, 0x6910, 0x76a0, 0x7e2b, 0x7f7c, 0x85ac])
        #expect(ring.items.map { String($0.endpoint.last!) }.joined() == "BABABBAAAB")
        // A duplicated endpoint string gets twice the points: the second set probes one step on.
        let doubled = HashRing(["endpoint-1", "endpoint-1"], weight: 5)
        #expect(doubled.items.map(\.position) == [0x21ca, 0x21cb, 0x29d3, 0x29d4, 0x3984, 0x3985, 0x5eaf, 0x5eb0, 0x8bc1, 0x8bc2])
    }

    @Test func keysRouteAsUpstream() {
        let ring = HashRing(["endpoint-1", "endpoint-2"])
        #expect(ring.endpoint(for: [1, 2, 0, 0]) == "endpoint-2")
        #expect(ring.endpoint(for: [128, 128, 0, 0]) == "endpoint-1")
        #expect(ring.endpoint(for: Array("ad-service-7".utf8)) == "endpoint-2")
        #expect(ring.endpoint(for: Array("get-recommendations-1".utf8)) == "endpoint-1")
        #expect(HashRing([]).endpoint(for: [1]) == nil)
        #expect(HashRing.serviceKey("checkout") == Array("service.name=checkout|".utf8))
        #expect(HashRing.serviceKey(nil) == Array("service.name=|".utf8))
    }

    /// Three gateways, trace ids as 16 raw bytes (cross-check vectors computed by an
    /// independent reimplementation of the same ring).
    @Test func traceIDsOnThreeGateways() {
        let ring = HashRing(["10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317"])
        #expect(ring.items.count == 300)
        func id(_ hex: String) -> [UInt8] {
            stride(from: 0, to: 32, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
        }
        #expect(HashRing.crc32IEEE(id("0102030405060708090a0b0c0d0e0f10")) == 156_008_689)
        #expect(ring.endpoint(for: id("0102030405060708090a0b0c0d0e0f10")) == "10.0.0.2:4317")
        #expect(ring.endpoint(for: id("4bf92f3577b34da6a3ce929d0e0e4736")) == "10.0.0.3:4317")
        #expect(ring.endpoint(for: id("00000000000000000000000000000001")) == "10.0.0.3:4317")
        #expect(ring.endpoint(for: id("ffffffffffffffffffffffffffffffff")) == "10.0.0.3:4317")
    }
}
