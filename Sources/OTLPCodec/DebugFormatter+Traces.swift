internal import CProtobufC
internal import OTLPProto

typealias CTraceRequest = Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
typealias CSpan = Opentelemetry__Proto__Trace__V1__Span

extension DebugFormatter {
    private static let spanKind = OTLPSchema.shared.enumeration(named: "opentelemetry.proto.trace.v1.Span.SpanKind")
    private static let statusCode = OTLPSchema.shared.enumeration(named: "opentelemetry.proto.trace.v1.Status.StatusCode")

    func formatTraces(_ decoded: UnsafeRawPointer, into out: inout DebugText) {
        let request = decoded.assumingMemoryBound(to: CTraceRequest.self).pointee
        var counts = OTLPCounts(resources: request.n_resource_spans)
        forEach(request.n_resource_spans, request.resource_spans) { _, rs in
            counts.scopes += rs.pointee.n_scope_spans
            forEach(rs.pointee.n_scope_spans, rs.pointee.scope_spans) { _, ss in counts.items += ss.pointee.n_spans }
        }
        summary(.traces, counts, into: &out)
        forEach(request.n_resource_spans, request.resource_spans) { r, rs in
            let resourceSpans = rs.pointee
            if verbosity == .detailed {
                header(0, "ResourceSpans #\(r)", into: &out)
                out.quotedLine(1, "schema_url", resourceSpans.schema_url)
                resource(1, resourceSpans.resource, into: &out)
            }
            forEach(resourceSpans.n_scope_spans, resourceSpans.scope_spans) { s, ss in
                let scopeSpans = ss.pointee
                if verbosity == .detailed {
                    header(1, "ScopeSpans #\(s)", into: &out)
                    out.quotedLine(2, "schema_url", scopeSpans.schema_url)
                    scope(2, scopeSpans.scope, into: &out)
                }
                forEach(scopeSpans.n_spans, scopeSpans.spans) { i, span in
                    if verbosity == .detailed {
                        detailedSpan(i, span.pointee, into: &out)
                    } else {
                        normalSpan(span.pointee, resourceSpans.resource, into: &out)
                    }
                }
            }
        }
    }

    /// An entry header line (`Span #0`) at `level`.
    func header(_ level: Int, _ text: String, into out: inout DebugText) {
        out.indent(level)
        out.text(text)
        out.newline()
    }

    private func normalSpan(_ span: CSpan, _ resource: UnsafeMutablePointer<CResource>?, into out: inout DebugText) {
        out.text("span ")
        service(resource, into: &out)
        out.text(" name=")
        out.quoted(span.name)
        out.text(" trace_id=")
        out.id(span.trace_id)
        out.text(" span_id=")
        out.id(span.span_id)
        out.text(" parent_span_id=")
        out.id(span.parent_span_id)
        out.text(" kind=")
        out.enumName(Int32(bitPattern: span.kind.rawValue), Self.spanKind)
        out.text(" duration=")
        out.json.decimal(Int64(bitPattern: span.end_time_unix_nano &- span.start_time_unix_nano))
        out.text("ns status=")
        out.enumName(Int32(bitPattern: span.status?.pointee.code.rawValue ?? 0), Self.statusCode)
        out.text(" status_message=")
        out.quoted(span.status?.pointee.message)
        out.newline()
    }

    private func detailedSpan(_ index: Int, _ span: CSpan, into out: inout DebugText) {
        header(2, "Span #\(index)", into: &out)
        let level = 3
        out.idLine(level, "trace_id", span.trace_id)
        out.idLine(level, "span_id", span.span_id)
        out.idLine(level, "parent_span_id", span.parent_span_id)
        out.quotedLine(level, "trace_state", span.trace_state)
        out.line(level, "flags", String(span.flags))
        out.quotedLine(level, "name", span.name)
        out.label(level, "kind")
        out.enumName(Int32(bitPattern: span.kind.rawValue), Self.spanKind)
        out.newline()
        out.timestampLine(level, "start_time_unix_nano", span.start_time_unix_nano)
        out.timestampLine(level, "end_time_unix_nano", span.end_time_unix_nano)
        out.label(level, "status.code")
        out.enumName(Int32(bitPattern: span.status?.pointee.code.rawValue ?? 0), Self.statusCode)
        out.newline()
        out.quotedLine(level, "status.message", span.status?.pointee.message)
        out.line(level, "dropped_attributes_count", String(span.dropped_attributes_count))
        out.line(level, "dropped_events_count", String(span.dropped_events_count))
        out.line(level, "dropped_links_count", String(span.dropped_links_count))
        section(level, "attributes", into: &out)
        out.attributes(level + 1, span.n_attributes, span.attributes)
        forEach(span.n_events, span.events) { e, event in
            let ev = event.pointee
            header(level, "Event #\(e)", into: &out)
            out.quotedLine(level + 1, "name", ev.name)
            out.timestampLine(level + 1, "time_unix_nano", ev.time_unix_nano)
            out.line(level + 1, "dropped_attributes_count", String(ev.dropped_attributes_count))
            section(level + 1, "attributes", into: &out)
            out.attributes(level + 2, ev.n_attributes, ev.attributes)
        }
        forEach(span.n_links, span.links) { l, link in
            let ln = link.pointee
            header(level, "Link #\(l)", into: &out)
            out.idLine(level + 1, "trace_id", ln.trace_id)
            out.idLine(level + 1, "span_id", ln.span_id)
            out.quotedLine(level + 1, "trace_state", ln.trace_state)
            out.line(level + 1, "flags", String(ln.flags))
            out.line(level + 1, "dropped_attributes_count", String(ln.dropped_attributes_count))
            section(level + 1, "attributes", into: &out)
            out.attributes(level + 2, ln.n_attributes, ln.attributes)
        }
    }
}
