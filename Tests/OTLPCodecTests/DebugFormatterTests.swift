import Testing
@testable import OTLPCodec

@Suite struct DebugFormatterTests {
    @Test func basic() throws {
        #expect(try DebugFormatter(verbosity: .basic).format(.traces, protobuf: Fixture.bytes("traces.pb"))
            == "Traces: 2 resource spans, 3 scope spans, 4 spans\n")
        #expect(try DebugFormatter(verbosity: .basic).format(.logs, protobuf: Fixture.bytes("logs.pb"))
            == "Logs: 2 resource logs, 2 scope logs, 6 log records\n")
        #expect(try DebugFormatter(verbosity: .basic).format(.traces, protobuf: [])
            == "Traces: 0 resource spans, 0 scope spans, 0 spans\n")
    }

    @Test func normalTraces() throws {
        let text = try DebugFormatter(verbosity: .normal).format(.traces, protobuf: Fixture.bytes("traces.pb"))
        #expect(text == """
            Traces: 2 resource spans, 3 scope spans, 4 spans
            span service="checkout" name="GET /cart" trace_id=5b8efff798038103d269b633813fc60c span_id=eee19b7ec3c1b174 parent_span_id=<empty> kind=SPAN_KIND_SERVER duration=2000000ns status=STATUS_CODE_ERROR status_message="payment failed"
            span service="checkout" name="SELECT carts" trace_id=5b8efff798038103d269b633813fc60c span_id=0000000000000001 parent_span_id=eee19b7ec3c1b174 kind=SPAN_KIND_CLIENT duration=-50000000ns status=STATUS_CODE_OK status_message=""
            span service="checkout" name="unicode ✓ quote\\" backslash\\\\ newline\\n tab\\t \\u0001 é 日本 😀" trace_id=ffffffffffffffffffffffffffffffff span_id=8000000000000000 parent_span_id=<empty> kind=SPAN_KIND_INTERNAL duration=0ns status=STATUS_CODE_UNSET status_message=""
            span service="" name="" trace_id=<empty> span_id=<empty> parent_span_id=<empty> kind=9 duration=0ns status=7 status_message=""

            """)
    }

    @Test func normalLogs() throws {
        let text = try DebugFormatter(verbosity: .normal).format(.logs, protobuf: Fixture.bytes("logs.pb"))
        #expect(text == """
            Logs: 2 resource logs, 2 scope logs, 6 log records
            log service="checkout" time=2023-11-14T22:13:20.000000000Z severity=SEVERITY_NUMBER_WARN severity_text="WARN" body=Str("disk 91% full") trace_id=5b8efff798038103d269b633813fc60c span_id=eee19b7ec3c1b174
            log service="checkout" time=2023-11-14T22:13:20.000000001Z severity=SEVERITY_NUMBER_INFO severity_text="" body=Map({msg: "structured", code: 7, ok: true, list: ["x", 1.0]}) trace_id=<empty> span_id=<empty>
            log service="checkout" time=1970-01-01T00:00:00.000000000Z severity=SEVERITY_NUMBER_FATAL4 severity_text="quote\\" backslash\\\\ newline\\n tab\\t \\u0001 é 日本 😀" body=Array([1, 2, "three"]) trace_id=<empty> span_id=<empty>
            log service="checkout" time=2023-11-14T22:13:20.000000003Z severity=SEVERITY_NUMBER_UNSPECIFIED severity_text="" body=Bytes(00336699ccff) trace_id=<empty> span_id=<empty>
            log service="checkout" time=2023-11-14T22:13:20.000000004Z severity=SEVERITY_NUMBER_DEBUG severity_text="" body=Empty() trace_id=<empty> span_id=<empty>
            log service="" time=1970-01-01T00:00:00.000000000Z severity=30 severity_text="" body=Int(0) trace_id=<empty> span_id=<empty>

            """)
    }

    @Test func detailedTracesGolden() throws {
        let text = try DebugFormatter(verbosity: .detailed).format(.traces, protobuf: Fixture.bytes("traces.pb"))
        try Fixture.expectGolden(text, "traces.detailed.txt")
    }

    @Test func detailedLogsGolden() throws {
        let text = try DebugFormatter(verbosity: .detailed).format(.logs, protobuf: Fixture.bytes("logs.pb"))
        try Fixture.expectGolden(text, "logs.detailed.txt")
    }

    @Test func timestamps() {
        #expect(RFC3339.format(nanos: 0) == "1970-01-01T00:00:00.000000000Z")
        #expect(RFC3339.format(nanos: 1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z")
        #expect(RFC3339.format(nanos: 951_782_400_000_000_001) == "2000-02-29T00:00:00.000000001Z")
        #expect(RFC3339.format(nanos: 4_107_542_399_999_999_999) == "2100-02-28T23:59:59.999999999Z")
        #expect(RFC3339.format(nanos: UInt64.max) == "2554-07-21T23:34:33.709551615Z")
    }

    @Test func malformedInputThrows() throws {
        let bytes = Array(try Fixture.bytes("traces.pb").dropLast(2))
        for verbosity in [DebugFormatter.Verbosity.basic, .normal, .detailed] {
            #expect(throws: OTLPDecodeError.self) { try DebugFormatter(verbosity: verbosity).format(.traces, protobuf: bytes) }
        }
    }
}
