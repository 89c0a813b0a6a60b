import CollectorTesting
import Foundation
import OTLPProto
import Testing

/// Test fixtures live beside this file in `Fixtures/` (see `Fixtures/gen_fixtures.py`); they
/// are read from the source tree, so the test target needs no resource declarations.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

    /// Compares `actual` with the golden file `name`; with `UPDATE_GOLDEN=1` in the
    /// environment, rewrites the file instead (review the diff before committing).
    static func expectGolden(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try Data(actual.utf8).write(to: url)
            return
        }
        let expected = try String(decoding: Data(contentsOf: url), as: UTF8.self)
        if actual != expected {
            let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
            let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(a, e).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, e.count)
            let got = line < a.count ? String(a[line]) : "<end>"
            let want = line < e.count ? String(e[line]) : "<end>"
            Issue.record("\(name) differs at line \(line + 1):\n  got:  \(got)\n  want: \(want)\n(UPDATE_GOLDEN=1 regenerates)",
                         sourceLocation: sourceLocation)
        }
    }
}

/// Decodes a serialized `ExportTraceServiceRequest` with protobuf-c (independently of the
/// module under test) and returns, per span in order: (service.name, scope name,
/// resource schema_url, scope schema_url, span name).
func protobufCSpans(_ bytes: [UInt8]) -> [(service: String, scope: String, resourceURL: String, scopeURL: String, name: String)]? {
    bytes.withUnsafeBufferPointer { buffer in
        guard let request = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            nil, buffer.count, buffer.baseAddress) else { return nil }
        defer { opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(request, nil) }
        var out: [(String, String, String, String, String)] = []
        for r in 0..<request.pointee.n_resource_spans {
            let rs = request.pointee.resource_spans[r]!.pointee
            var service = ""
            if let resource = rs.resource?.pointee {
                for a in 0..<resource.n_attributes {
                    let kv = resource.attributes[a]!.pointee
                    if String(cString: kv.key) == "service.name" { service = String(cString: kv.value.pointee.string_value) }
                }
            }
            for s in 0..<rs.n_scope_spans {
                let ss = rs.scope_spans[s]!.pointee
                let scope = ss.scope.map { String(cString: $0.pointee.name) } ?? ""
                for i in 0..<ss.n_spans {
                    out.append((service, scope, String(cString: rs.schema_url), String(cString: ss.schema_url),
                                String(cString: ss.spans[i]!.pointee.name)))
                }
            }
        }
        return out
    }
}

/// Whether protobuf-c's own unpack accepts `bytes` as a request of the signal.
func protobufCAccepts(traces bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { buffer in
        guard let request = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            nil, buffer.count, buffer.baseAddress) else { return false }
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(request, nil)
        return true
    }
}

/// Whether protobuf-c's own unpack accepts `bytes` as a logs request.
func protobufCAccepts(logs bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { buffer in
        guard let request = opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
            nil, buffer.count, buffer.baseAddress) else { return false }
        opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(request, nil)
        return true
    }
}

/// Protobuf helpers for hand-built test messages.
enum PB {
    static func varint(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
        return out
    }

    static func field(_ number: UInt64, _ payload: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(UInt64(payload.count)) + payload
    }

    static func string(_ number: UInt64, _ s: String) -> [UInt8] {
        field(number, Array(s.utf8))
    }
}
