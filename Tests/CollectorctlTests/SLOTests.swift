import CollectorTesting
@testable import collectorctl
import Dispatch
import Foundation
import QueryAPI
import Store
import Testing

/// `collectorctl slo` over HTTP against the real `query` extension on a real `TraceStore`
/// holding a known mix of requests, errors and slow requests at known ages.
@Suite struct SLOTests {
    static let end: UInt64 = 1_765_000_000_000_000_000
    static let minute: UInt64 = 60_000_000_000
    static let hour = 60 * minute

    /// `count` checkout SERVER spans ending `age` before `end`, the first `errors` failing and
    /// the next `slow` lasting 400 ms (the others 50 ms); traces of 10 spans.
    private static func requests(_ count: Int, age: UInt64, errors: Int, slow: Int, first: Int) -> [UInt8] {
        var spans: [TestSpan] = []
        for i in 0..<count {
            let endTime = end - age
            let duration: UInt64 = i >= errors && i < errors + slow ? 400_000_000 : 50_000_000
            spans.append(TestSpan(traceID: traceID(1 + (first + i) / 10), spanID: spanID(first + i), name: "POST /orders",
                                  start: endTime - duration, end: endTime, error: i < errors, kind: 2))
        }
        // The same traces' client spans and another service's failing server spans: not counted.
        let client = spans.prefix(3).map { s -> TestSpan in
            var c = s
            c.spanID = spanID(900_000 + Int(s.spanID.last!))
            c.kind = 3
            c.error = true
            return c
        }
        let other = spans.prefix(3).map { s -> TestSpan in
            var o = s
            o.spanID = spanID(800_000 + Int(s.spanID.last!))
            o.error = true
            return o
        }
        return OTLPBuild.traces([TestResource(service: "checkout", items: spans + client), TestResource(service: "payments", items: other)])
    }

    @Test func budgetsAndBurnRatesFromAKnownMix() throws {
        let directory = NSTemporaryDirectory() + "slo-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try TraceStore(config: StoreConfig(directory: directory))
        defer { store.close() }
        // 1000 requests in the 30 days: 100 in the last hour (2 errors, 5 slow), 200 between
        // 1 h and 6 h ago (1 error), 700 older (4 errors, 10 slow); 50 failing ones 31 days ago.
        for (count, age, errors, slow, first) in [(100, 10 * Self.minute, 2, 5, 0), (200, 3 * Self.hour, 1, 0, 1000), (700, 10 * 24 * Self.hour, 4, 10, 2000),
                                                  (50, 31 * 24 * Self.hour, 50, 0, 5000)] {
            let payload = Self.requests(count, age: age, errors: errors, slow: slow, first: first)
            try store.append(kind: .spans, payload: payload, itemCount: count + 6)
        }
        var settings = QuerySettings()
        settings.endpoint = "127.0.0.1:0"
        let server = QueryExtension(settings: settings, reader: store, logger: .discarding)
        try server.start()
        defer {
            let done = DispatchSemaphore(value: 0)
            server.shutdown(deadline: .now() + 2) { done.signal() }
            done.wait()
        }
        let client = QueryClient(http: try QueryHTTP(server: ServerAddress(host: "127.0.0.1", port: try #require(server.boundPort))))
        let sli = try client.sli(service: "checkout", latencyNanos: 300_000_000, end: Self.end, windows: [30 * 86_400, 21_600, 3_600])
        #expect(sli.windows.map(\.requests) == [1000, 300, 100])
        #expect(sli.windows.map(\.errors) == [7, 3, 2])
        #expect(sli.windows.map(\.slow) == [15, 5, 5])
        let report = SLOReport(service: "checkout", objective: 99.9, latency: "300ms", window: "30d", sli: sli)
        #expect(report.text == """
            SLO checkout: 99.900% of requests succeed over 30d; latency target 300ms
            window  requests  errors  success  under 300ms  burn rate
            30d         1000       7  99.300%      98.500%      7.00x
            6h           300       3  99.000%      98.333%     10.00x
            1h           100       2  98.000%      95.000%     20.00x
            error budget: 0.100% of requests, 43m12s of full outage in 30d; spent 700.0%, remaining -600.0%

            """)
        let json = try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any] ?? [:]
        let budget = json["errorBudget"] as? [String: Any] ?? [:]
        #expect(budget["fullOutageSeconds"] as? Double == 2592 && budget["spent"] as? Double == 7)
        let windows = json["windows"] as? [[String: Any]] ?? []
        #expect(windows.map { $0["burnRate"] as? Double } == [7, 10, 20])
        #expect(windows.map { $0["name"] as? String } == ["30d", "6h", "1h"])
    }

    @Test func arithmetic() {
        #expect(SLOReport.clock(2592) == "43m12s")
        #expect(SLOReport.clock(3600) == "1h0m0s")
        #expect(SLOReport.clock(0.5) == "0.5s")
        #expect(SLOReport.clock(90_061) == "1d1h1m1s")
        #expect(String(format2: 0.9995, digits: 3) == "1.000" && String(format2: -6, digits: 1) == "-6.0")
        let empty = SLOReport(service: "s", objective: 99, latency: "1s", window: "7d",
                              sli: SLICounts(service: "s", latencyNanos: 1, end: 0, windows: [.init(seconds: 604_800, requests: 0, errors: 0, slow: 0)]))
        #expect(empty.text.hasSuffix("error budget: 1.000% of requests, 1h40m48s of full outage in 7d; no requests in the window\n"))
        #expect(Arguments.duration("30d") == 30 * 86_400_000_000_000)
    }
}
