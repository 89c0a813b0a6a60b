import OTLPCodec

/// The endpoints behind `QueryHandler.handle` (documented on the type).
extension QueryHandler {
    /// `/api/operations?service=S` (Jaeger's newer form, with span kinds, which the store
    /// does not index: `spanKind` is `""`).
    func operations(_ p: QueryParameters) -> QueryResponse {
        guard let service = p["service"] else { return .jaegerError(400, "parameter 'service' is required") }
        let names = reader.operations(service: service)
        var out = JSONOutput(capacity: 64 + names.count * 40)
        out.raw("{\"data\":[")
        var first = true
        for name in names {
            out.comma(&first)
            out.raw("{\"name\":")
            out.string(name)
            out.raw(",\"spanKind\":\"\"}")
        }
        out.raw("],\"total\":\(names.count),\"limit\":0,\"offset\":0,\"errors\":null}")
        return .json(out.bytes)
    }

    /// `/api/traces?...` (Jaeger search, or several traces by `traceID=`).
    func jaegerSearch(_ p: QueryParameters) -> QueryResponse {
        let parsed: (query: TraceQuery, traceIDs: [OTLPTraceID])
        do throws(ParameterError) {
            parsed = try SearchParameters.jaeger(p)
        } catch {
            return .jaegerError(400, error.message)
        }
        let includeLogs = p["logs"] != "false"
        var traces: [[UInt8]] = []
        var missing: [String] = []
        let ids = parsed.traceIDs.isEmpty ? reader.search(parsed.query, budget: budget).map(\.traceID) : parsed.traceIDs
        do throws(QueryError) {
            for id in ids {
                // A trace found by the search may be gone (retention) by the time it is read.
                guard let stored = reader.trace(id: id.bytes, budget: budget), !stored.spans.isEmpty else {
                    missing.append(id.hex)
                    continue
                }
                traces.append(try JaegerJSON.trace(spans: stored.spans, logs: includeLogs ? stored.logs : []))
            }
        } catch {
            return .jaegerError(500, error.description)
        }
        return .json(JaegerEnvelope.traces(traces, missing: parsed.traceIDs.isEmpty ? [] : missing,
                                           partial: budget.partialReason.map { "partial result: \($0)" }))
    }

    /// `/api/traces/{id}`: Jaeger JSON, Tempo JSON or OTLP protobuf (see `Flavor`).
    func traceByID(_ text: String, accept: String?, _ p: QueryParameters) -> QueryResponse {
        let flavor: Flavor
        do throws(ParameterError) {
            flavor = try Self.flavor(accept: accept, format: p["format"])
        } catch {
            return .jaegerError(400, error.message)
        }
        let fail: (Int, String) -> QueryResponse = { status, message in
            flavor == .jaeger ? .jaegerError(status, message) : .text(status, message)
        }
        let id: OTLPTraceID
        do throws(ParameterError) {
            id = try TraceIDParameter.parse(text)
        } catch {
            return fail(400, error.message)
        }
        guard let stored = reader.trace(id: id.bytes, budget: budget), !stored.spans.isEmpty else { return fail(404, "trace not found") }
        do throws(QueryError) {
            switch flavor {
            case .protobuf:
                return .protobuf(stored.spans)
            case .tempoJSON:
                return .json(try TempoFormat.batchesJSON(spans: stored.spans))
            case .jaeger:
                let trace = try JaegerJSON.trace(spans: stored.spans, logs: p["logs"] == "false" ? [] : stored.logs)
                return .json(JaegerEnvelope.traces([trace], partial: budget.partialReason.map { "partial result: \($0)" }))
            }
        } catch {
            return fail(500, error.description)
        }
    }

    /// `/api/v2/traces/{id}` (Tempo).
    func tempoTraceByID(_ text: String, accept: String?) -> QueryResponse {
        let id: OTLPTraceID
        do throws(ParameterError) {
            id = try TraceIDParameter.parse(text)
        } catch {
            return .text(400, error.message)
        }
        guard let stored = reader.trace(id: id.bytes, budget: budget), !stored.spans.isEmpty else { return .text(404, "trace not found") }
        if Self.acceptsProtobuf(accept) { return .protobuf(TempoFormat.traceByIDProtobuf(spans: stored.spans)) }
        do throws(QueryError) {
            return .json(try TempoFormat.traceByIDJSON(spans: stored.spans))
        } catch {
            return .text(500, error.description)
        }
    }

    /// `/api/traces/{id}/logs`: the trace's log records (OTLP/JSON or protobuf).
    func logs(_ text: String, accept: String?) -> QueryResponse {
        let protobuf = Self.acceptsProtobuf(accept)
        let fail: (Int, String) -> QueryResponse = { status, message in
            protobuf ? .text(status, message) : .jaegerError(status, message)
        }
        let id: OTLPTraceID
        do throws(ParameterError) {
            id = try TraceIDParameter.parse(text)
        } catch {
            return fail(400, error.message)
        }
        guard let stored = reader.trace(id: id.bytes, budget: budget) else { return fail(404, "trace not found") }
        if protobuf { return .protobuf(stored.logs) }
        if stored.logs.isEmpty { return .json(Array("{\"resourceLogs\":[]}".utf8)) }
        do throws(QueryError) {
            return .json(try TempoFormat.otlpJSON(.logs, stored.logs))
        } catch {
            return fail(500, error.description)
        }
    }

    /// `/api/search` (Tempo).
    func tempoSearch(_ p: QueryParameters) -> QueryResponse {
        if let q = p["q"], !q.isEmpty { return traceQLSearch(p, q) }
        let query: TraceQuery
        do throws(ParameterError) {
            query = try SearchParameters.tempo(p)
        } catch {
            return .text(400, error.message)
        }
        return .json(TempoFormat.search(reader.search(query, budget: budget)))
    }
}
