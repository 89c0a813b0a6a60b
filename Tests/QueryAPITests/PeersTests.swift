import CollectorCore
import CollectorTesting
import Foundation
import OTLPCodec
@testable import QueryAPI
import Store
import Testing

/// The query extension's `peers`: a trace whose spans and logs are spread over three nodes
/// comes back whole from any of them; searches merge; a dead peer makes the answer partial,
/// not an error; a peer's own request is answered locally (no fan-out loops).
@Suite struct PeersTests {
    static let id = OTLPTraceID(bytes: traceID(9))!

    static func spans(_ range: ClosedRange<Int>, service: String) -> [UInt8] {
        OTLPBuild.traces([TestResource(service: service, items: range.map {
            TestSpan(traceID: traceID(9), spanID: spanID($0), parentSpanID: $0 == 1 ? [] : spanID(1), name: "op\($0)",
                     start: 1_000 + UInt64($0), end: 2_000)
        })])
    }

    static func summary(_ t: Int, start: UInt64, spans: Int) -> TraceSummary {
        TraceSummary(traceID: OTLPTraceID(bytes: traceID(t))!, rootService: "svc", rootOperation: "root", startTimeUnixNano: start,
                     durationNanos: 10, spanCount: spans, errorCount: 0, logCount: 0)
    }

    private func node(_ reader: FakeReader, peers: [Int]?) throws -> (QueryExtension, Int) {
        var settings = QuerySettings()
        settings.endpoint = "127.0.0.1:0"
        if let peers {
            var p = PeerSettings()
            p.endpoints = peers.map { "127.0.0.1:\($0)" }
            p.timeoutNanos = 10_000_000_000   // a loaded machine can take seconds; the dead peer refuses at once
            settings.peers = p
        }
        let node = QueryExtension(settings: settings, reader: reader, logger: .discarding)
        try node.start()
        return (node, node.boundPort!)
    }

    @Test func anyNodeAnswersForTheFleet() async throws {
        let logs = OTLPBuild.logs([TestResource(service: "b", items: [TestLog(time: 1_500, traceID: traceID(9), spanID: spanID(2), body: "at b")])])
        // B holds spans 3...4 and the logs, and asks A (a loop the peer header must break).
        let b = FakeReader(traces: [Self.id: (Self.spans(3...4, service: "b"), logs)],
                           summaries: [Self.summary(9, start: 1_001, spans: 2), Self.summary(8, start: 5_000, spans: 1)])
        let a = FakeReader(traces: [Self.id: (Self.spans(1...2, service: "a"), [])],
                           summaries: [Self.summary(9, start: 1_001, spans: 2), Self.summary(7, start: 3_000, spans: 4)])
        let dead = try FreePort.allocate()
        let (bNode, bPort) = try node(b, peers: [])   // filled in below: B's peers point at A
        defer { bNode.shutdown(deadline: .now()) {} }
        let (aNode, aPort) = try node(a, peers: [bPort, dead])
        defer { aNode.shutdown(deadline: .now()) {} }
        let (bLooping, bLoopPort) = try node(b, peers: [aPort])
        defer { bLooping.shutdown(deadline: .now()) {} }
        _ = bLoopPort
        // The client waits longer than a node waits for its peers (10 s above): under a full
        // parallel test run a node can take seconds to ask them, and a shorter client timeout
        // failed the test, not the node.
        let wait = Duration.seconds(30)

        let whole = try await SimpleHTTP.get(port: aPort, path: "/api/traces/\(Self.id.hex)", headers: ["Accept": "application/protobuf"],
                                             timeout: wait)
        #expect(whole.status == 200)
        let names = try OTLPScanner.spans(Array(whole.body)).spans.map(\.name).sorted()
        #expect(names == ["op1", "op2", "op3", "op4"])
        #expect(whole.header("x-partial-result")?.hasPrefix("peer 127.0.0.1:\(dead): cannot connect") == true, "\(whole.header("x-partial-result") ?? "")")
        let fleetLogs = try await SimpleHTTP.get(port: aPort, path: "/api/traces/\(Self.id.hex)/logs", headers: ["Accept": "application/protobuf"],
                                                 timeout: wait)
        #expect(Array(fleetLogs.body) == logs)

        // Search: merged by trace id, newest first, the summary with the most spans kept.
        let found = try await SimpleHTTP.get(port: aPort, path: "/api/search?tags=service.name%3Dsvc&limit=10", timeout: wait)
        let ids = found.text.components(separatedBy: "\"traceID\":\"").dropFirst().map { String($0.prefix(32)) }
        #expect(ids == [8, 7, 9].map { OTLPTraceID(bytes: traceID($0))!.hex })

        // B, asked by a peer (the header), answers from its own store only.
        let own = try await SimpleHTTP.get(port: bLoopPort, path: "/api/traces/\(Self.id.hex)",
                                           headers: ["Accept": "application/protobuf", PeerClient.peerHeader: "1"], timeout: wait)
        #expect(try OTLPScanner.spans(Array(own.body)).spans.map(\.name).sorted() == ["op3", "op4"])
        #expect(own.header("x-partial-result") == nil)
    }

    @Test func peerSearchLinesRoundTrip() {
        var query = TraceQuery(service: "a b", operation: "GET /x?y", tags: ["k": "v=w", "e": "true"],
                               minDuration: .milliseconds(3), maxDuration: .seconds(2), start: 10, end: 20, limit: 7)
        let p = QueryParameters(PeerSearch.queryString(query))
        #expect(PeerSearch.query(p) == query)
        query.service = nil
        #expect(PeerSearch.query(QueryParameters(PeerSearch.queryString(query))) == query)
        let summaries = [TraceSummary(traceID: OTLPTraceID(bytes: traceID(3))!, rootService: "tab\there", rootOperation: "new\nline %",
                                      startTimeUnixNano: 5, durationNanos: 6, spanCount: 7, errorCount: 1, logCount: 2)]
        #expect(PeerSearch.summaries(PeerSearch.lines(summaries)) == summaries)
        #expect(PeerSearch.summaries(Array("nonsense\n".utf8)) == nil)
    }
}
