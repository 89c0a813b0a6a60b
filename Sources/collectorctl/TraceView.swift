/// A trace as the tree shows it: flat spans and log records with what the renderer needs,
/// independent of the wire format (tests build it directly).
struct TraceView: Equatable {
    var traceID: String
    var spans: [Span]
    var logs: [Log]

    struct Attribute: Equatable {
        var key: String
        var value: String
    }

    struct Span: Equatable {
        var spanID: String
        /// "" for a root span.
        var parentSpanID: String = ""
        var service: String
        var name: String
        var start: UInt64
        var end: UInt64
        var isError = false
        var statusMessage = ""
        var attributes: [Attribute] = []
        var events: [Event] = []

        var duration: UInt64 { end > start ? end - start : 0 }
    }

    struct Event: Equatable {
        var time: UInt64
        var name: String
        var attributes: [Attribute] = []
    }

    struct Log: Equatable {
        var time: UInt64
        /// "" when the record carries no span id.
        var spanID: String = ""
        var service: String
        var severity: String
        var body: String
        var attributes: [Attribute] = []
    }
}

extension TraceView {
    /// The view of a trace's OTLP/JSON spans and log records (either may be absent).
    init(traceID: String, traces: OTLPDocument?, logs: OTLPDocument?) {
        self.traceID = traceID
        spans = []
        self.logs = []
        for resourceSpans in traces?.resourceSpans ?? [] {
            let service = Self.service(resourceSpans.resource)
            for scopeSpans in resourceSpans.scopeSpans ?? [] {
                for span in scopeSpans.spans ?? [] {
                    spans.append(Span(
                        spanID: span.spanId ?? "", parentSpanID: Self.id(span.parentSpanId), service: service,
                        name: span.name ?? "", start: UInt64(span.startTimeUnixNano ?? "") ?? 0,
                        end: UInt64(span.endTimeUnixNano ?? "") ?? 0, isError: span.status?.code == 2,
                        statusMessage: span.status?.message ?? "", attributes: Self.attributes(span.attributes),
                        events: (span.events ?? []).map {
                            Event(time: UInt64($0.timeUnixNano ?? "") ?? 0, name: $0.name ?? "",
                                  attributes: Self.attributes($0.attributes))
                        }))
                }
            }
        }
        for resourceLogs in logs?.resourceLogs ?? [] {
            let service = Self.service(resourceLogs.resource)
            for scopeLogs in resourceLogs.scopeLogs ?? [] {
                for record in scopeLogs.logRecords ?? [] {
                    var time = UInt64(record.timeUnixNano ?? "") ?? 0
                    if time == 0 { time = UInt64(record.observedTimeUnixNano ?? "") ?? 0 }
                    var attributes = Self.attributes(record.attributes)
                    if let event = record.eventName, !event.isEmpty {
                        attributes.insert(Attribute(key: "event.name", value: event), at: 0)
                    }
                    self.logs.append(Log(
                        time: time, spanID: Self.id(record.spanId), service: service,
                        severity: Self.severity(text: record.severityText ?? "", number: record.severityNumber ?? 0),
                        body: record.body?.text ?? "", attributes: attributes))
                }
            }
        }
    }

    /// "" for absent and all-zero ids.
    private static func id(_ hex: String?) -> String {
        guard let hex, hex.contains(where: { $0 != "0" }) else { return "" }
        return hex
    }

    private static func service(_ resource: OTLPDocument.Resource?) -> String {
        for kv in resource?.attributes ?? [] where kv.key == "service.name" {
            if case .string(let name)? = kv.value { return name }
        }
        return "unknown_service"
    }

    private static func attributes(_ list: [OTLPDocument.KeyValue]?) -> [Attribute] {
        (list ?? []).map { Attribute(key: $0.key, value: $0.value?.text ?? "") }
    }

    /// `severity_text`, else the short name of the severity number (INFO, WARN2...).
    static func severity(text: String, number: Int) -> String {
        if !text.isEmpty { return text }
        guard (1...24).contains(number) else { return "" }
        let names = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
        let step = (number - 1) % 4
        return names[(number - 1) / 4] + (step == 0 ? "" : String(step + 1))
    }
}
