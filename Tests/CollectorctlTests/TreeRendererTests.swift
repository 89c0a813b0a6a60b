@testable import collectorctl
import Testing

@Suite struct TreeRendererTests {
    /// The fixture trace (8 spans, 3 services, an error span, an orphan span, 5 log records).
    @Test func fixtureTreeMatchesGolden() throws {
        let text = TreeRenderer().render(try Fixture.view())
        #expect(!text.contains("\u{1B}["))
        try Fixture.expectGolden(text, "trace.tree.txt")
    }

    /// Log records sit under the span they carry the id of; the rest under the root span.
    @Test func logsArePlacedUnderTheirSpans() throws {
        let lines = TreeRenderer().render(try Fixture.view()).split(separator: "\n").map(String.init)
        func index(_ fragment: String) throws -> Int {
            try #require(lines.firstIndex { $0.contains(fragment) }, "no line with \(fragment)")
        }
        let select = try index("✗ checkout SELECT orders")
        let failed = try index("ERROR query failed: connection reset by peer")
        let publish = try index("checkout publish order")
        #expect(select < failed && failed < publish)
        #expect(lines[select + 1].hasSuffix("✗ error: connection reset by peer"))
        // Under the root (before its first child): its own record, the one without span id and
        // the one whose span is not in the trace (from another service, so labelled).
        let root = try index("frontend GET /checkout")
        let firstChild = try index("frontend HTTP POST")
        for fragment in ["INFO  checkout started  user.id=42", "INFO2 request finished  event.name=request.done",
                         "LOG   [payments] settlement queued"] {
            let line = try index(fragment)
            #expect(root < line && line < firstChild, "\(fragment)")
        }
        let slow = try index("WARN  {msg: slow checkout, ms: 70}")
        #expect(try index("checkout POST /api/checkout") < slow && slow < select)
        #expect(lines.contains { $0.contains("↳ parent span deadbeef00000001 is not in the trace") })
    }

    @Test func smallTreeExactly() {
        let t0: UInt64 = 1_700_000_000_000_000_000
        let ms: UInt64 = 1_000_000
        let view = TraceView(traceID: "0af7651916cd43dd8448eb211c80319c", spans: [
            .init(spanID: "a1", service: "web", name: "GET /", start: t0, end: t0 + 100 * ms,
                  attributes: [.init(key: "http.request.method", value: "GET"), .init(key: "ignored", value: "x")]),
            .init(spanID: "b2", parentSpanID: "a1", service: "db", name: "query", start: t0 + 50 * ms, end: t0 + 100 * ms,
                  isError: true, statusMessage: "timeout",
                  events: [.init(time: t0 + 99 * ms, name: "exception", attributes: [.init(key: "exception.type", value: "Timeout")])]),
            .init(spanID: "c3", parentSpanID: "a1", service: "web", name: "render", start: t0 + 10 * ms, end: t0 + 20 * ms),
        ], logs: [
            .init(time: t0 + 60 * ms, spanID: "b2", service: "db", severity: "ERROR", body: "slow query\nsecond line"),
            .init(time: t0 + 1 * ms, service: "web", severity: "", body: "no span id"),
        ])
        #expect(TreeRenderer(barWidth: 10).render(view) == """
            Trace 0af7651916cd43dd8448eb211c80319c
            2023-11-14 22:13:20.000 UTC  duration 100ms  3 spans  2 services  1 error  2 log records

            web GET /       100ms  [██████████]
            │ http.request.method=GET
            │ +1.00ms  LOG   no span id
            ├─ web render  10.0ms  [ █        ]
            └─ ✗ db query  50.0ms  [     █████]
                 ✗ error: timeout
                 +60.0ms  ERROR slow query
                 +99.0ms  ◆ exception  exception.type=Timeout

            """)
    }

    @Test func logsOnlyTrace() {
        let view = TraceView(traceID: "1", spans: [], logs: [
            .init(time: 2_000_000, service: "api", severity: "WARN", body: "late"),
            .init(time: 1_000_000, service: "api", severity: "INFO", body: "early"),
        ])
        #expect(TreeRenderer().render(view) == """
            Trace 1
            1970-01-01 00:00:00.001 UTC  0 spans  0 services  0 errors  2 log records

            (no spans stored for this trace)
            +0ns  INFO  [api] early
            +1.00ms  WARN  [api] late

            """)
    }

    @Test func coloursOnlyWhenEnabled() throws {
        let coloured = TreeRenderer(palette: Palette(enabled: true)).render(try Fixture.view())
        #expect(coloured.contains("\u{1B}[1;31m✗ \u{1B}[0m"))
        #expect(coloured.contains("\u{1B}[31m✗ error: connection reset by peer\u{1B}[0m"))
        #expect(ColorMode.never.palette == .plain)
        #expect(ColorMode.always.palette.enabled)
    }

    @Test func bars() {
        let renderer = TreeRenderer(barWidth: 10)
        func bar(_ start: UInt64, _ end: UInt64) -> String {
            renderer.bar(.init(spanID: "x", service: "s", name: "n", start: start, end: end), t0: 0, total: 100)
        }
        #expect(bar(0, 100) == "[██████████]")
        #expect(bar(0, 1) == "[█         ]")
        #expect(bar(99, 100) == "[         █]")
        #expect(bar(100, 100) == "[         █]")
        #expect(bar(25, 55) == "[  ████    ]")
        #expect(renderer.bar(.init(spanID: "x", service: "s", name: "n", start: 5, end: 5), t0: 5, total: 0) == "[██████████]")
    }

    @Test func durations() {
        #expect(TextFormat.duration(0) == "0ns")
        #expect(TextFormat.duration(999) == "999ns")
        #expect(TextFormat.duration(1_234) == "1.23µs")
        #expect(TextFormat.duration(12_345_678) == "12.3ms")
        #expect(TextFormat.duration(120_000_000) == "120ms")
        #expect(TextFormat.duration(4_567_000_000) == "4.56s")
        #expect(TextFormat.duration(125_000_000_000) == "2m05s")
        #expect(TextFormat.duration(3_720_000_000_000) == "1h02m")
        #expect(TextFormat.timestamp(951_782_400_123_000_000) == "2000-02-29 00:00:00.123")
    }
}
