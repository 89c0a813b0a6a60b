import AttributeActions
import CollectorTesting
import OTLPCodec
import Patterns
import Testing

/// The actions on an attribute list, checked by reading the written `KeyValue`s back.
@Suite struct AttributeEditorTests {
    enum V: Equatable { case s(String), i(Int64), d(Double), b(Bool) }

    /// Serialized `KeyValue` fields (field 1 each, as in a Resource) for `attributes`.
    static func encode(_ attributes: [(String, V)]) -> [UInt8] {
        var w = PBWriter()
        for (k, v) in attributes {
            w.message(1) { kv in
                kv.string(1, k)
                kv.message(2) { any in
                    switch v {
                    case .s(let s): any.string(1, s)
                    case .b(let b): any.varintField(2, b ? 1 : 0)
                    case .i(let i): any.varintField(3, UInt64(bitPattern: i))
                    case .d(let d): any.fixed64(4, d.bitPattern)
                    }
                }
            }
        }
        return w.bytes
    }

    /// Applies `actions` to `attributes` and reads the result back.
    static func run(_ attributes: [(String, V)], _ actions: [AttributeAction]) throws -> [(String, V)] {
        let source = encode(attributes)
        let written: [UInt8] = try source.withUnsafeBytes { raw in
            var ranges: [Range<Int>] = []
            try OTLPMessageFields.each(raw, 0..<raw.count) { _, _, payload, _ in ranges.append(payload) }
            var list = AttributeList(raw, ranges)
            AttributeEditor(actions).apply(&list, source: raw)
            var w = OTLPWireWriter()
            list.write(field: 1, into: &w)
            return w.bytes
        }
        return try written.withUnsafeBytes { raw in
            var out: [(String, V)] = []
            try OTLPMessageFields.each(raw, 0..<raw.count) { _, _, payload, _ in
                let (key, value) = OTLPAttributes.read(raw, payload)
                let v: V
                switch value {
                case .string(let r): v = .s(OTLPAttributes.string(raw, r))
                case .int(let i): v = .i(i)
                case .double(let d): v = .d(d)
                case .bool(let b): v = .b(b)
                case .other: v = .s("<other>")
                }
                out.append((OTLPAttributes.string(raw, key), v))
            }
            return out
        }
    }

    static func same(_ a: [(String, V)], _ b: [(String, V)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    @Test func insertUpdateUpsert() throws {
        let input: [(String, V)] = [("service.name", .s("cart")), ("region", .s("eu"))]
        let out = try Self.run(input, [
            AttributeAction(kind: .insert, key: "region", value: .string("us")),        // present: unchanged
            AttributeAction(kind: .insert, key: "env", value: .string("prod")),          // absent: added
            AttributeAction(kind: .update, key: "missing", value: .int(1)),              // absent: nothing
            AttributeAction(kind: .update, key: "service.name", value: .string("checkout")),
            AttributeAction(kind: .upsert, key: "replicas", value: .int(3)),
            AttributeAction(kind: .upsert, key: "region.copy", fromAttribute: "region"),
            AttributeAction(kind: .insert, key: "nothing", fromAttribute: "absent"),     // source absent: nothing
            AttributeAction(kind: .upsert, key: "ratio", value: .double(0.5)),
            AttributeAction(kind: .upsert, key: "on", value: .bool(true)),
        ])
        #expect(Self.same(out, [("service.name", .s("checkout")), ("region", .s("eu")), ("env", .s("prod")),
                                ("replicas", .i(3)), ("region.copy", .s("eu")), ("ratio", .d(0.5)), ("on", .b(true))]))
    }

    @Test func deleteByKeyAndByPattern() throws {
        let input: [(String, V)] = [("a", .s("1")), ("secret.token", .s("x")), ("secret.key", .s("y")), ("b", .i(2))]
        let out = try Self.run(input, [
            AttributeAction(kind: .delete, key: "a"),
            AttributeAction(kind: .delete, key: "", pattern: try Pattern("^secret\\.")),
            AttributeAction(kind: .delete, key: "absent"),
        ])
        #expect(Self.same(out, [("b", .i(2))]))
    }

    @Test func hashIsSHA256OfUpstreamBytes() throws {
        // Expected digests from Python's hashlib over the same bytes (UTF-8; 8 bytes little-endian
        // for ints and doubles; one byte for bools).
        let input: [(String, V)] = [("user", .s("alice")), ("n", .i(42)), ("flag", .b(true)), ("x", .d(1.5))]
        let out = try Self.run(input, [
            AttributeAction(kind: .hash, key: "user"),
            AttributeAction(kind: .hash, key: "", pattern: try Pattern("^(n|flag|x)$")),
        ])
        #expect(Self.same(out, [
            ("user", .s("2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90")),
            ("n", .s("ed049108bc18f2c64369e8d0ea42850bdd1a7d1dd340cfde716315579702a76c")),
            ("flag", .s("4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a")),
            ("x", .s("e163f8cb0f7067a7fc78ca859a77f849aea3214f38fb75b884e4a16be725c905")),
        ]))
    }

    @Test func extractUpsertsNamedGroups() throws {
        let pattern = try Pattern(#"^/api/(?P<api_version>v\d+)/users/(?P<user_id>\d+)(?P<suffix>/.*)?$"#)
        let input: [(String, V)] = [("http.target", .s("/api/v2/users/1234")), ("user_id", .s("old"))]
        let out = try Self.run(input, [AttributeAction(kind: .extract, key: "http.target", pattern: pattern)])
        #expect(Self.same(out, [("http.target", .s("/api/v2/users/1234")), ("user_id", .s("1234")),
                                ("api_version", .s("v2")), ("suffix", .s(""))]))
        // No match, or not a string: nothing.
        let none = try Self.run([("http.target", .s("/health")), ("n", .i(1))], [
            AttributeAction(kind: .extract, key: "http.target", pattern: pattern),
            AttributeAction(kind: .extract, key: "n", pattern: pattern),
        ])
        #expect(Self.same(none, [("http.target", .s("/health")), ("n", .i(1))]))
    }

    @Test func convertBetweenTypes() throws {
        let input: [(String, V)] = [("a", .s("123")), ("b", .d(1.9)), ("c", .i(5)), ("d", .s("abc")), ("e", .b(true)),
                                    ("f", .s("2.5")), ("g", .d(3))]
        let out = try Self.run(input, [
            AttributeAction(kind: .convert, key: "a", convertedType: .int),
            AttributeAction(kind: .convert, key: "b", convertedType: .int),
            AttributeAction(kind: .convert, key: "c", convertedType: .string),
            AttributeAction(kind: .convert, key: "d", convertedType: .int),      // does not convert: unchanged
            AttributeAction(kind: .convert, key: "e", convertedType: .double),
            AttributeAction(kind: .convert, key: "f", convertedType: .double),
            AttributeAction(kind: .convert, key: "g", convertedType: .string),
        ])
        #expect(Self.same(out, [("a", .i(123)), ("b", .i(1)), ("c", .s("5")), ("d", .s("abc")), ("e", .d(1)),
                                ("f", .d(2.5)), ("g", .s("3"))]))
    }

    @Test func untouchedListsReportNoChange() throws {
        let source = Self.encode([("k", .s("v"))])
        try source.withUnsafeBytes { raw in
            var ranges: [Range<Int>] = []
            try OTLPMessageFields.each(raw, 0..<raw.count) { _, _, payload, _ in ranges.append(payload) }
            var list = AttributeList(raw, ranges)
            AttributeEditor([AttributeAction(kind: .update, key: "absent", value: .int(1)),
                             AttributeAction(kind: .delete, key: "absent")]).apply(&list, source: raw)
            #expect(!list.changed)
            AttributeEditor([AttributeAction(kind: .upsert, key: "k", value: .string("w"))]).apply(&list, source: raw)
            #expect(list.changed)
        }
    }
}
