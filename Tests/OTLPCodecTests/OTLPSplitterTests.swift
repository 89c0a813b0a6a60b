import Testing
@testable import OTLPCodec

@Suite struct OTLPSplitterTests {
    @Test func splitsThirtySpansByFour() throws {
        let original = try Fixture.bytes("split.pb")
        let expected = try #require(protobufCSpans(original))
        #expect(expected.count == 30)
        let pieces = try OTLPSplitter.split(.traces, protobuf: original, maxItems: 4)
        #expect(pieces.map(\.count) == [4, 4, 4, 4, 4, 4, 4, 2])
        var spans: [(service: String, scope: String, resourceURL: String, scopeURL: String, name: String)] = []
        for piece in pieces {
            #expect(try OTLPValidator.count(.traces, protobuf: piece.bytes) == piece.count)
            let decoded = try #require(protobufCSpans(piece.bytes))
            #expect(decoded.count == piece.count)
            spans += decoded
        }
        // Same spans, same order, each still under its own resource and scope.
        #expect(spans.map(\.name) == expected.map(\.name))
        for span in spans {
            let parts = span.name.split(separator: ".")  // r<R>.s<S>.span<I>
            let r = parts[0].dropFirst(), s = parts[1].dropFirst()
            #expect(span.service == "svc\(r)")
            #expect(span.scope == "scope\(s)")
            #expect(span.resourceURL == "https://r\(r)")
            #expect(span.scopeURL == "https://r\(r)/s\(s)")
        }
    }

    @Test func piecesCarryTheRightEntries() throws {
        let pieces = try OTLPSplitter.split(.traces, protobuf: Fixture.bytes("split.pb"), maxItems: 4)
        let counts = try pieces.map { try OTLPValidator.counts(.traces, protobuf: $0.bytes) }
        // r0 s0 0-3 | r0 s0 4, s1 0-2 | r0 s1 3-4, r1 s0 0-1 | r1 s0 2-4, s1 0 |
        // r1 s1 1-4, s2 (empty: joins the open piece) | r2 s0 0-3 | r2 s0 4, s1 0-2 |
        // r2 s1 3-4, r3 (no scopes)
        #expect(counts == [
            OTLPCounts(resources: 1, scopes: 1, items: 4),
            OTLPCounts(resources: 1, scopes: 2, items: 4),
            OTLPCounts(resources: 2, scopes: 2, items: 4),
            OTLPCounts(resources: 1, scopes: 2, items: 4),
            OTLPCounts(resources: 1, scopes: 2, items: 4),
            OTLPCounts(resources: 1, scopes: 1, items: 4),
            OTLPCounts(resources: 1, scopes: 2, items: 4),
            OTLPCounts(resources: 2, scopes: 1, items: 2),
        ])
    }

    @Test func concatenatedPiecesEqualTheOriginalContent() throws {
        let original = try Fixture.bytes("traces.pb")
        for max in 1...5 {
            let pieces = try OTLPSplitter.split(.traces, protobuf: original, maxItems: max)
            #expect(pieces.allSatisfy { $0.count <= max && $0.count > 0 })
            #expect(pieces.map(\.count).reduce(0, +) == 4)
            let merged = pieces.flatMap(\.bytes)
            // The detailed debug text of the merged pieces lists the same spans with the same
            // resources and scopes; only the entry grouping differs.
            let spanLines = { (bytes: [UInt8]) throws -> [String] in
                try DebugFormatter(verbosity: .normal).format(.traces, protobuf: bytes)
                    .split(separator: "\n").dropFirst().map(String.init)
            }
            #expect(try spanLines(merged) == spanLines(original))
        }
    }

    @Test func requestThatFitsIsReturnedUnchanged() throws {
        let original = try Fixture.bytes("split.pb")
        for max in [30, 31, 0, -1] {
            let pieces = try OTLPSplitter.split(.traces, protobuf: original, maxItems: max)
            #expect(pieces.count == 1)
            #expect(pieces[0].bytes == original)
            #expect(pieces[0].count == 30)
        }
        let empty = try OTLPSplitter.split(.logs, protobuf: [], maxItems: 10)
        #expect(empty.count == 1 && empty[0].bytes.isEmpty && empty[0].count == 0)
    }

    @Test func splitsLogs() throws {
        let original = try Fixture.bytes("logs.pb")
        let pieces = try OTLPSplitter.split(.logs, protobuf: original, maxItems: 2)
        #expect(pieces.map(\.count) == [2, 2, 2])
        let normal = DebugFormatter(verbosity: .normal)
        func lines(_ bytes: [UInt8]) throws -> [String] {
            try normal.format(.logs, protobuf: bytes).split(separator: "\n").dropFirst().map(String.init)
        }
        #expect(try pieces.flatMap { try lines($0.bytes) } == lines(original))
    }

    @Test func malformedFramingIsRejected() throws {
        let original = try Fixture.bytes("split.pb")
        let error = #expect(throws: OTLPDecodeError.self) {
            try OTLPSplitter.split(.traces, protobuf: Array(original.dropLast(1)), maxItems: 4)
        }
        #expect(error?.code == .malformedProtobuf)
        // A resource_spans field that is a varint.
        #expect(throws: OTLPDecodeError.self) { try OTLPSplitter.split(.traces, protobuf: [0x08, 0x01], maxItems: 1) }
    }
}
