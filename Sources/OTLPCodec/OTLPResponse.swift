internal import CProtobufC
internal import OTLPProto

/// The bodies OTLP receivers answer an export with:
/// `ExportTraceServiceResponse` / `ExportLogsServiceResponse` / `ExportMetricsServiceResponse`.
public enum OTLPResponse {
    /// The serialized protobuf response.
    ///
    /// Full success (`rejected == 0` and `errorMessage` nil or empty) is the empty message
    /// (zero bytes), leaving `partial_success` unset as the spec requires. Otherwise
    /// `partial_success` holds `rejected_spans` / `rejected_log_records` / `rejected_data_points` (negative values are
    /// clamped to 0) and `error_message`.
    public static func encode(_ signal: OTLPSignal, rejected: Int, errorMessage: String?) -> [UInt8] {
        let rejected = Int64(max(rejected, 0))
        let message = errorMessage ?? ""
        guard rejected > 0 || !message.isEmpty else { return [] }
        return message.withCString { cMessage -> [UInt8] in
            let text = UnsafeMutablePointer(mutating: cMessage)
            switch signal {
            case .traces:
                var partial = Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess()
                opentelemetry__proto__collector__trace__v1__export_trace_partial_success__init(&partial)
                partial.rejected_spans = rejected
                partial.error_message = text
                return withUnsafeMutablePointer(to: &partial) { partialPointer in
                    var response = Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse()
                    opentelemetry__proto__collector__trace__v1__export_trace_service_response__init(&response)
                    response.partial_success = partialPointer
                    return withUnsafeMutableBytes(of: &response) { CMessageBuilder.pack($0.baseAddress!) }
                }
            case .logs:
                var partial = Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess()
                opentelemetry__proto__collector__logs__v1__export_logs_partial_success__init(&partial)
                partial.rejected_log_records = rejected
                partial.error_message = text
                return withUnsafeMutablePointer(to: &partial) { partialPointer in
                    var response = Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse()
                    opentelemetry__proto__collector__logs__v1__export_logs_service_response__init(&response)
                    response.partial_success = partialPointer
                    return withUnsafeMutableBytes(of: &response) { CMessageBuilder.pack($0.baseAddress!) }
                }
            case .metrics:
                var partial = Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess()
                opentelemetry__proto__collector__metrics__v1__export_metrics_partial_success__init(&partial)
                partial.rejected_data_points = rejected
                partial.error_message = text
                return withUnsafeMutablePointer(to: &partial) { partialPointer in
                    var response = Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse()
                    opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__init(&response)
                    response.partial_success = partialPointer
                    return withUnsafeMutableBytes(of: &response) { CMessageBuilder.pack($0.baseAddress!) }
                }
            }
        }
    }

    /// The `partial_success` of a serialized `Export*ServiceResponse` (what an OTLP exporter
    /// gets back): the items the server rejected and its message; nil for full success (an
    /// empty message, or `partial_success` with nothing rejected and no message) and for bytes
    /// that are not a response (an exporter then treats the export as delivered, as upstream).
    public static func partialSuccess(_ bytes: [UInt8]) -> (rejected: Int, message: String)? {
        bytes.withUnsafeBytes { raw -> (rejected: Int, message: String)? in
            var response = ProtoWire.Reader(raw, range: 0..<raw.count)
            var rejected = 0
            var message = ""
            do throws(ProtoWire.WireError) {
                while let field = try response.next() {
                    guard field.number == 1, field.wireType == .lengthDelimited else { continue }
                    var partial = ProtoWire.Reader(raw, range: field.payload)
                    while let inner = try partial.next() {
                        if inner.number == 1, inner.wireType == .varint {
                            var value = ProtoWire.Reader(raw, range: inner.payload)
                            rejected = Int(truncatingIfNeeded: try value.readVarint())
                        } else if inner.number == 2, inner.wireType == .lengthDelimited {
                            message = String(decoding: UnsafeRawBufferPointer(rebasing: raw[inner.payload]), as: UTF8.self)
                        }
                    }
                }
            } catch {
                return nil
            }
            return rejected > 0 || !message.isEmpty ? (max(0, rejected), message) : nil
        }
    }

    /// The same response as OTLP/JSON, for requests that came as `application/json`:
    /// `{}` on full success, else e.g.
    /// `{"partialSuccess":{"rejectedSpans":"2","errorMessage":"..."}}`.
    public static func encodeJSON(_ signal: OTLPSignal, rejected: Int, errorMessage: String?) -> [UInt8] {
        let protobuf = encode(signal, rejected: rejected, errorMessage: errorMessage)
        let schema = OTLPSchema.shared
        do {
            return try OTLPJSON.encode(message: schema.response(signal), name: signal.responseMessageName, protobuf: protobuf)
        } catch {
            preconditionFailure("re-encoding a response this module packed failed: \(error)")
        }
    }
}
