import CollectorCore
import CollectorTesting
import Dispatch
import Foundation
import OTLPCodec
import QueryAPI
import Store
import Synchronization
import Testing

/// The query extension's bounds, against the real server: concurrent queries past the cap are
/// refused at once, a query stops when its deadline passes or its client goes away and answers
/// partial, and shutdown does not wait for a query that would run forever.
@Suite struct QueryLimitsTests {
    /// A reader whose trace lookups read "blocks" until their budget stops them (or, with
    /// `limit`, until that many were read), and remember why they stopped.
    final class EndlessReader: TraceReader {
        let stops = Mutex<[ReadBudget.Stop?]>([])
        let started = Atomic<Int>(0)
        let limit: Int?
        let spans: [UInt8]

        init(limit: Int? = nil) {
            self.limit = limit
            spans = OTLPBuild.traces([TestResource(service: "svc", items: [
                TestSpan(traceID: traceID(1), spanID: spanID(1), name: "root", start: 1_000, end: 2_000)])])
        }

        func trace(id: [UInt8], budget: ReadBudget) -> (spans: [UInt8], logs: [UInt8])? {
            started.add(1, ordering: .relaxed)
            var read = 0
            while budget.admit() {
                read += 1
                if let limit, read >= limit { break }
                usleep(1000)  // one block's read
            }
            stops.withLock { $0.append(budget.stop) }
            return (spans, [])
        }

        func services() -> [String] { [] }
        func operations(service: String) -> [String] { [] }
        func search(_ query: TraceQuery, budget: ReadBudget) -> [TraceSummary] { [] }
    }

    private func start(_ reader: EndlessReader, _ configure: (inout QuerySettings) -> Void = { _ in },
                       metrics: MetricsRegistry = MetricsRegistry(),
                       clock: @escaping @Sendable () -> UInt64 = ReadBudget.monotonicNow) throws -> (QueryExtension, Int) {
        var settings = QuerySettings()
        settings.endpoint = "127.0.0.1:0"
        configure(&settings)
        let query = QueryExtension(settings: settings, reader: reader, logger: .discarding, metrics: metrics, clock: clock)
        try query.start()
        return (query, query.boundPort!)
    }

    private static let tracePath = "/api/traces/00000000000000000000000000000001"

    @Test func queriesPastTheCapAreRefusedAtOnce() async throws {
        let reader = EndlessReader()
        let metrics = MetricsRegistry()
        // Only a cancellation ends these queries (no deadline, no block bound within the test).
        let (query, port) = try start(reader, {
            $0.maxConcurrentQueries = 2
            $0.timeoutNanos = 3_600_000_000_000
            $0.maxBlocksPerQuery = 100_000_000
        }, metrics: metrics)
        let first = try RawConnection(port: port)
        let second = try RawConnection(port: port)
        for connection in [first, second] { try connection.send(Data("GET \(Self.tracePath) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) }
        try await waitFor("two queries running") { reader.started.load(ordering: .relaxed) == 2 }
        let third = try await SimpleHTTP.get(port: port, path: Self.tracePath)
        #expect(third.status == 503)
        #expect(third.header("retry-after") == "1")
        #expect(third.text == "too many queries at once (max_concurrent_queries 2); retry later\n")
        #expect(metrics.render().contains("collectord_query_refused_total 1"))
        first.close()
        second.close()
        try await waitFor("both cancelled when their clients left") { reader.stops.withLock { $0.count } == 2 }
        #expect(reader.stops.withLock { $0 } == [.cancelled, .cancelled])
        await withCheckedContinuation { done in query.shutdown(deadline: .now() + 5) { done.resume() } }
    }

    /// The clock moves a second each time it is read; with a 5 s timeout the query reads a few
    /// blocks, stops, and answers with what it has, marked partial.
    @Test func theDeadlineGivesAPartialAnswer() async throws {
        let ticks = Atomic<UInt64>(0)
        let reader = EndlessReader()
        let metrics = MetricsRegistry()
        let (query, port) = try start(reader, { $0.timeoutNanos = 5_000_000_000 }, metrics: metrics,
                                      clock: { ticks.add(1_000_000_000, ordering: .relaxed).newValue })
        defer { query.shutdown(deadline: .now()) {} }
        let response = try await SimpleHTTP.get(port: port, path: Self.tracePath)
        #expect(response.status == 200)
        #expect(response.header("x-partial-result") == "the query deadline passed")
        #expect(response.text.hasSuffix(#""errors":[{"code":206,"msg":"partial result: the query deadline passed"}]}"#))
        #expect(reader.stops.withLock { $0 } == [.deadline])
        #expect(metrics.render().contains("collectord_query_partial_total{reason=\"deadline\"} 1"))
        let whole = EndlessReader(limit: 3)
        let (other, otherPort) = try start(whole)
        defer { other.shutdown(deadline: .now()) {} }
        let complete = try await SimpleHTTP.get(port: otherPort, path: Self.tracePath)
        #expect(complete.status == 200 && complete.header("x-partial-result") == nil)
        #expect(complete.text.hasSuffix(#""errors":null}"#))
    }

    @Test func theBlockBoundGivesAPartialAnswer() async throws {
        let reader = EndlessReader()
        let (query, port) = try start(reader) { $0.maxBlocksPerQuery = 5 }
        defer { query.shutdown(deadline: .now()) {} }
        let response = try await SimpleHTTP.get(port: port, path: Self.tracePath)
        #expect(response.header("x-partial-result") == "the bound on blocks read was reached")
        #expect(reader.stops.withLock { $0 } == [.blocks])
    }

    /// A query that only a cancellation can end: shutdown cancels it, so it answers and the
    /// server closes long before the 60 s deadline given.
    @Test func shutdownIsNotHeldUpByAQuery() async throws {
        let reader = EndlessReader()
        let (query, port) = try start(reader) {
            $0.timeoutNanos = 3_600_000_000_000
            $0.maxBlocksPerQuery = 100_000_000
        }
        let client = try RawConnection(port: port)
        try client.send(Data("GET \(Self.tracePath) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        try await waitFor("the query is running") { reader.started.load(ordering: .relaxed) == 1 }
        let began = DispatchTime.now()
        await withCheckedContinuation { done in query.shutdown(deadline: .now() + 60) { done.resume() } }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - began.uptimeNanoseconds) / 1e9
        #expect(seconds < 30, "shutdown took \(seconds) s")
        #expect(reader.stops.withLock { $0 } == [.cancelled])
        client.close()
    }

    private func waitFor(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<2000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("timed out waiting for \(what)")
    }
}
