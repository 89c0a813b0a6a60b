import OTLPCodec
internal import CProtobufC
internal import OTLPProto

typealias PBTraceRequest = Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
typealias PBLogsRequest = Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest
typealias PBResourceSpans = Opentelemetry__Proto__Trace__V1__ResourceSpans
typealias PBSpan = Opentelemetry__Proto__Trace__V1__Span
typealias PBEvent = Opentelemetry__Proto__Trace__V1__Span__Event
typealias PBLink = Opentelemetry__Proto__Trace__V1__Span__Link
typealias PBLogRecord = Opentelemetry__Proto__Logs__V1__LogRecord
typealias PBResource = Opentelemetry__Proto__Resource__V1__Resource
typealias PBScope = Opentelemetry__Proto__Common__V1__InstrumentationScope
typealias PBKeyValue = Opentelemetry__Proto__Common__V1__KeyValue
typealias PBAnyValue = Opentelemetry__Proto__Common__V1__AnyValue
/// A protobuf-c repeated message field: a pointer to `count` message pointers.
typealias PBRepeated<T> = UnsafeMutablePointer<UnsafeMutablePointer<T>?>?

/// Decodes stored OTLP requests with protobuf-c for the duration of a closure.
///
/// The decoded message is malloc'ed by protobuf-c and freed (`free_unpacked`) when `body`
/// returns, so nothing may keep a pointer into it. Empty bytes decode to an empty request.
/// The bytes come from the store, which only keeps requests its receivers validated (nesting
/// depth included), so protobuf-c's recursion is bounded.
enum OTLPUnpacked {
    static func withTraces<R>(_ bytes: [UInt8], _ body: (PBTraceRequest) -> R) throws(QueryError) -> R {
        let result: R? = bytes.withUnsafeBufferPointer { buffer in
            guard let request = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
                nil, buffer.count, buffer.baseAddress) else { return nil }
            defer { opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(request, nil) }
            return body(request.pointee)
        }
        guard let result else { throw QueryError.malformed("ExportTraceServiceRequest") }
        return result
    }

    static func withLogs<R>(_ bytes: [UInt8], _ body: (PBLogsRequest) -> R) throws(QueryError) -> R {
        let result: R? = bytes.withUnsafeBufferPointer { buffer in
            guard let request = opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
                nil, buffer.count, buffer.baseAddress) else { return nil }
            defer { opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(request, nil) }
            return body(request.pointee)
        }
        guard let result else { throw QueryError.malformed("ExportLogsServiceRequest") }
        return result
    }
}

/// Calls `body` with each element of a protobuf-c repeated message field, skipping null
/// entries (protobuf-c never writes them, but the check costs nothing).
@inline(__always)
func forEach<T>(_ count: Int, _ items: PBRepeated<T>, _ body: (T) -> Void) {
    guard let items else { return }
    for i in 0..<count {
        if let item = items[i] { body(item.pointee) }
    }
}

extension ProtobufCBinaryData {
    /// The bytes, borrowed from the decoded message.
    var buffer: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : len)
    }

    /// An 8-byte span id as a big-endian integer; 0 for absent, all-zero or not 8 bytes.
    var spanID: UInt64 {
        guard len == 8, let data else { return 0 }
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(data[i]) }
        return value
    }

    /// Lowercase hex of the bytes.
    var hex: String { Hex.string(buffer) }
}

/// `service.name` of a resource when it is a string attribute, else nil.
func serviceName(_ resource: UnsafeMutablePointer<PBResource>?) -> String? {
    guard let resource = resource?.pointee else { return nil }
    var name: String?
    forEach(resource.n_attributes, resource.attributes) { kv in
        guard name == nil, JSONOutput.text(kv.key) == "service.name", let value = kv.value?.pointee,
              value.value_case.rawValue == 1 /* string_value */ else { return }
        name = JSONOutput.text(value.string_value)
    }
    return name
}
