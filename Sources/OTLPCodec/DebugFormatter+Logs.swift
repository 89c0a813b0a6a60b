internal import CProtobufC
internal import OTLPProto

typealias CLogsRequest = Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest
typealias CLogRecord = Opentelemetry__Proto__Logs__V1__LogRecord

extension DebugFormatter {
    private static let severity = OTLPSchema.shared.enumeration(named: "opentelemetry.proto.logs.v1.SeverityNumber")

    func formatLogs(_ decoded: UnsafeRawPointer, into out: inout DebugText) {
        let request = decoded.assumingMemoryBound(to: CLogsRequest.self).pointee
        var counts = OTLPCounts(resources: request.n_resource_logs)
        forEach(request.n_resource_logs, request.resource_logs) { _, rl in
            counts.scopes += rl.pointee.n_scope_logs
            forEach(rl.pointee.n_scope_logs, rl.pointee.scope_logs) { _, sl in counts.items += sl.pointee.n_log_records }
        }
        summary(.logs, counts, into: &out)
        forEach(request.n_resource_logs, request.resource_logs) { r, rl in
            let resourceLogs = rl.pointee
            if verbosity == .detailed {
                header(0, "ResourceLogs #\(r)", into: &out)
                out.quotedLine(1, "schema_url", resourceLogs.schema_url)
                resource(1, resourceLogs.resource, into: &out)
            }
            forEach(resourceLogs.n_scope_logs, resourceLogs.scope_logs) { s, sl in
                let scopeLogs = sl.pointee
                if verbosity == .detailed {
                    header(1, "ScopeLogs #\(s)", into: &out)
                    out.quotedLine(2, "schema_url", scopeLogs.schema_url)
                    scope(2, scopeLogs.scope, into: &out)
                }
                forEach(scopeLogs.n_log_records, scopeLogs.log_records) { i, record in
                    if verbosity == .detailed {
                        detailedLog(i, record.pointee, into: &out)
                    } else {
                        normalLog(record.pointee, resourceLogs.resource, into: &out)
                    }
                }
            }
        }
    }

    private func normalLog(_ log: CLogRecord, _ resource: UnsafeMutablePointer<CResource>?, into out: inout DebugText) {
        out.text("log ")
        service(resource, into: &out)
        out.text(" time=")
        out.text(RFC3339.format(nanos: log.time_unix_nano))
        out.text(" severity=")
        out.enumName(Int32(bitPattern: log.severity_number.rawValue), Self.severity)
        out.text(" severity_text=")
        out.quoted(log.severity_text)
        out.text(" body=")
        out.typedValue(log.body)
        out.text(" trace_id=")
        out.id(log.trace_id)
        out.text(" span_id=")
        out.id(log.span_id)
        out.newline()
    }

    private func detailedLog(_ index: Int, _ log: CLogRecord, into out: inout DebugText) {
        header(2, "LogRecord #\(index)", into: &out)
        let level = 3
        out.timestampLine(level, "time_unix_nano", log.time_unix_nano)
        out.timestampLine(level, "observed_time_unix_nano", log.observed_time_unix_nano)
        out.label(level, "severity_number")
        out.enumName(Int32(bitPattern: log.severity_number.rawValue), Self.severity)
        out.newline()
        out.quotedLine(level, "severity_text", log.severity_text)
        out.quotedLine(level, "event_name", log.event_name)
        out.label(level, "body")
        out.typedValue(log.body)
        out.newline()
        out.idLine(level, "trace_id", log.trace_id)
        out.idLine(level, "span_id", log.span_id)
        out.line(level, "flags", String(log.flags))
        out.line(level, "dropped_attributes_count", String(log.dropped_attributes_count))
        section(level, "attributes", into: &out)
        out.attributes(level + 1, log.n_attributes, log.attributes)
    }
}
