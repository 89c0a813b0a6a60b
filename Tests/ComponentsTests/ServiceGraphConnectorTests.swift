import CollectorCore
import CollectorTesting
import Foundation
import OTLPCodec
@testable import ServiceGraphConnector
import Synchronization
import Testing

private final class Sink: Consumer {
    let batches = Mutex<[TelemetryBatch]>([])
    func consume(_ batch: TelemetryBatch) throws(ComponentError) { batches.withLock { $0.append(batch) } }
    var last: TelemetryBatch? { batches.withLock { $0.last } }
}

private final class Wall: Sendable {
    let now = Atomic<UInt64>(1_700_000_000_000_000_000)
    var read: @Sendable () -> UInt64 { { self.now.load(ordering: .relaxed) } }
    func advance(_ ns: UInt64) { now.add(ns, ordering: .relaxed) }
}

/// Series of the connector's output: "client>server/type[ dims]" -> (total, failed, server count, client count, server sum, client sum).
private func series(_ batch: TelemetryBatch) throws -> [String: [Double]] {
    let json = try OTLPJSON.encode(.metrics, protobuf: batch.payload)
    let root = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] ?? [:]
    var out: [String: [Double]] = [:]
    let names = ["traces_service_graph_request_total", "traces_service_graph_request_failed_total",
                 "traces_service_graph_request_server_seconds", "traces_service_graph_request_client_seconds"]
    for rm in root["resourceMetrics"] as? [[String: Any]] ?? [] {
        for sm in rm["scopeMetrics"] as? [[String: Any]] ?? [] {
            for m in sm["metrics"] as? [[String: Any]] ?? [] {
                let slot = names.firstIndex(of: m["name"] as? String ?? "") ?? -1
                let data = (m["sum"] ?? m["histogram"]) as? [String: Any] ?? [:]
                for p in data["dataPoints"] as? [[String: Any]] ?? [] {
                    var attrs: [String: String] = [:]
                    for kv in p["attributes"] as? [[String: Any]] ?? [] {
                        attrs[kv["key"] as? String ?? ""] = (kv["value"] as? [String: Any])?["stringValue"] as? String
                    }
                    let extra = attrs.keys.filter { !["client", "server", "connection_type"].contains($0) }.sorted()
                        .map { "\($0)=\(attrs[$0] ?? "")" }.joined(separator: ",")
                    let key = "\(attrs["client"] ?? "")>\(attrs["server"] ?? "")/\(attrs["connection_type"] ?? "")" + (extra.isEmpty ? "" : " " + extra)
                    var v = out[key] ?? [0, 0, 0, 0, 0, 0]
                    switch slot {
                    case 0, 1: v[slot] = Double(p["asInt"] as? String ?? "0") ?? -1
                    case 2, 3:
                        v[slot] = Double(p["count"] as? String ?? "0") ?? -1   // proto3 JSON leaves a 0 count out
                        v[slot + 2] = p["sum"] as? Double ?? 0
                    default: break
                    }
                    out[key] = v
                }
            }
        }
    }
    return out
}

private let ms: UInt64 = 1_000_000

private func span(_ trace: Int, _ id: Int, parent: Int? = nil, _ name: String, kind: UInt64, ms duration: UInt64, error: Bool = false,
                  attributes: [String: TestValue] = [:]) -> TestSpan {
    TestSpan(traceID: traceID(trace), spanID: spanID(id), parentSpanID: parent.map(spanID) ?? [], name: name, start: 1_000_000_000,
             end: 1_000_000_000 + duration * ms, error: error, attributes: attributes, kind: kind)
}

@Suite struct ServiceGraphConnectorTests {
    private func connector(_ configure: (inout ServiceGraphSettings) -> Void = { _ in }) -> (ServiceGraphConnector, Sink, Wall, MetricsRegistry) {
        var settings = ServiceGraphSettings()
        configure(&settings)
        let sink = Sink(), wall = Wall(), metrics = MetricsRegistry()
        return (ServiceGraphConnector(settings: settings, name: "servicegraph", next: sink, metrics: metrics, logger: .discarding,
                                      wallClock: wall.read), sink, wall, metrics)
    }

    private func send(_ c: ServiceGraphConnector, _ service: String, _ spans: [TestSpan]) throws {
        try c.export(TelemetryBatch(signal: .traces, payload: OTLPBuild.traces([TestResource(service: service, items: spans)]),
                                    itemCount: spans.count))
    }

    @Test func pairsClientAndServerSpansAcrossBatches() throws {
        let (c, sink, wall, metrics) = connector { $0.dimensions = ["http.method"] }
        // Server side first (another agent's batch), then the client side.
        try send(c, "checkout", [span(1, 20, parent: 10, "POST /orders", kind: 2, ms: 30, attributes: ["http.method": .string("POST")])])
        try send(c, "frontend", [
            span(1, 1, "GET /", kind: 2, ms: 100),                                            // root: from the user
            span(1, 10, parent: 1, "POST orders", kind: 3, ms: 40, attributes: ["http.method": .string("POST")]),
            span(2, 11, parent: 1, "POST orders", kind: 3, ms: 50, error: true),
            span(3, 12, "charge", kind: 3, ms: 5, attributes: ["peer.service": .string("payments")]),   // no server: a virtual node
            span(4, 13, "lost", kind: 3, ms: 5),                                              // no server, no peer: dropped
            span(5, 14, "rpc", kind: 3, ms: 6, attributes: ["peer.service": .int(7)]),       // a peer named by a number
            span(6, 15, "charge", kind: 3, ms: 7, attributes: ["peer.service": .string("payments")]),
        ])
        try send(c, "checkout", [
            span(2, 21, parent: 11, "POST /orders", kind: 2, ms: 45),
            span(2, 22, parent: 21, "INSERT", kind: 3, ms: 4, attributes: ["db.name": .string("orders"), "db.system": .string("postgresql")]),
        ])
        wall.advance(2_500 * ms)
        c.flush()
        let out = try series(try #require(sink.last))
        #expect(out == [
            "frontend>checkout/ client_http.method=POST,server_http.method=POST": [1, 0, 1, 1, 0.03, 0.04],
            "frontend>checkout/": [1, 1, 1, 1, 0.045, 0.05],
            "user>frontend/virtual_node": [1, 0, 1, 0, 0.1, 0],
            "checkout>orders/database": [1, 0, 0, 1, 0, 0.004],
            "frontend>payments/virtual_node": [2, 0, 0, 2, 0, 0.012],
            "frontend>7/virtual_node": [1, 0, 0, 1, 0, 0.006],
        ])
        #expect(metrics.render().contains("collectord_servicegraph_dropped_spans_total{connector=\"servicegraph\"} 1"))
    }

    /// A batch merged by reference is read part by part: a client span in one part pairs with
    /// its server span in another, as in the same batch joined.
    @Test func aBatchWithPartsPairsSpansAcrossItsParts() throws {
        func request(_ service: String, _ spans: [TestSpan]) -> TelemetryBatch {
            TelemetryBatch(signal: .traces, payload: OTLPBuild.traces([TestResource(service: service, items: spans)]), itemCount: spans.count)
        }
        var parted = request("frontend", [span(1, 10, "POST orders", kind: 3, ms: 40)])
        parted.append(request("checkout", [span(1, 20, parent: 10, "POST /orders", kind: 2, ms: 30)]), keepingPartsFrom: 1)
        parted.append(request("checkout", [span(2, 21, "GET /", kind: 2, ms: 5, error: true)]), keepingPartsFrom: 1)
        #expect(parted.parts.count == 2)
        let (c, sink, wall, _) = connector()
        try c.export(parted)
        wall.advance(2_500 * ms)
        c.flush()
        #expect(try series(try #require(sink.last)) == [
            "frontend>checkout/": [1, 0, 1, 1, 0.03, 0.04],
            "user>checkout/virtual_node": [1, 1, 1, 0, 0.005, 0],
        ])
    }

    @Test func aFullStoreDropsNewEdgesAndCountsThem() throws {
        let (c, sink, wall, metrics) = connector { $0.maxItems = 1 }
        try send(c, "a", [span(1, 10, "x", kind: 3, ms: 1), span(2, 11, "y", kind: 3, ms: 1)])
        try send(c, "b", [span(1, 20, parent: 10, "x", kind: 2, ms: 1), span(2, 21, parent: 11, "y", kind: 2, ms: 1)])
        wall.advance(3_000 * ms)
        c.flush()
        #expect(try series(try #require(sink.last)).mapValues { $0[0] } == ["a>b/": 1])
        // The second client side found the store full; its server side then waited and expired.
        #expect(metrics.render().contains("collectord_servicegraph_dropped_spans_total{connector=\"servicegraph\"} 2"))
    }

    /// A side that comes twice replaces the first (its peer and dimension values too); the
    /// strings of sides that paired, expired or replaced are let go and their places reused.
    @Test func aRepeatedSideReplacesTheFirstAndItsStrings() throws {
        let (c, sink, wall, _) = connector { $0.dimensions = ["tier"] }
        for round in 0..<3 {
            try send(c, "web", [
                span(10 + round, 1, "call", kind: 3, ms: 3, attributes: ["peer.service": .string("old"), "tier": .string("a")]),
                span(10 + round, 1, "call", kind: 3, ms: 4, attributes: ["peer.service": .string("new"), "tier": .string("b")]),
                span(20 + round, 2, "call", kind: 3, ms: 5, attributes: ["tier": .string("c")]),
            ])
            try send(c, "api", [span(20 + round, 3, parent: 2, "serve", kind: 2, ms: 2, attributes: ["tier": .string("d")])])
            wall.advance(2_500 * ms)
            c.flush()
        }
        #expect(try series(try #require(sink.last)) == [
            "web>new/virtual_node client_tier=b": [3, 0, 0, 3, 0, 0.012],
            "web>api/ client_tier=c,server_tier=d": [3, 0, 3, 3, 0.006, 0.015],
        ])
    }

    @Test func messagingEdgesAndCumulativeTotals() throws {
        let (c, sink, wall, _) = connector()
        for n in 0..<3 {
            try send(c, "producer", [span(n + 1, 10, "publish", kind: 4, ms: 2)])
            try send(c, "consumer", [span(n + 1, 20, parent: 10, "process", kind: 5, ms: 7)])
            wall.advance(1_000 * ms)
            c.flush()
        }
        #expect(sink.batches.withLock { $0.count } == 3)
        #expect(try series(try #require(sink.last)) == ["producer>consumer/messaging_system": [3, 0, 3, 3, 0.021, 0.006]])
    }
}
