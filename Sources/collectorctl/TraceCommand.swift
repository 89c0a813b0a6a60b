import ArgumentParser
import OTLPCodec

/// `collectorctl trace <id>`: one trace with its log records, as a tree or as OTLP/JSON.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Print a trace as a tree, with its log records under their spans.",
        discussion: """
            Fetches the trace's spans (/api/traces/<id>, OTLP protobuf) and log records \
            (/api/traces/<id>/logs) from the query API. --json prints them as one OTLP/JSON \
            object: {"resourceSpans":[...],"resourceLogs":[...]}.

            Exit codes: 0 ok, 2 invalid trace id, 3 trace not found, 4 server unreachable, \
            5 server error or unexpected answer.
            """)

    @Argument(help: "The trace id: 1 to 32 hex digits (shorter ids are left-padded with zeros).")
    var id: String

    @Flag(help: "Print OTLP/JSON instead of the tree.")
    var json = false

    @Option(help: "Colours: auto (only on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorMode = .auto

    @OptionGroup var server: ServerOptions

    func run() throws {
        try CLIError.reporting {
            let id = try Arguments.traceID(id)
            let client = QueryClient(http: try server.connection())
            let stored = try client.trace(id)
            let spans = try stored.spans.map { (bytes) throws(CLIError) in try QueryClient.json(.traces, bytes) }
            let logs = try stored.logs.map { (bytes) throws(CLIError) in try QueryClient.json(.logs, bytes) }
            if json {
                print(Self.combinedJSON(spans: spans, logs: logs))
                return
            }
            let view = TraceView(traceID: id, traces: try spans.map(QueryClient.document),
                                 logs: try logs.map(QueryClient.document))
            print(TreeRenderer(palette: color.palette).render(view), terminator: "")
        }
    }

    /// `{"resourceSpans":[...],"resourceLogs":[...]}` from the two OTLP/JSON objects (either
    /// may be absent or empty, `{}`).
    static func combinedJSON(spans: [UInt8]?, logs: [UInt8]?) -> String {
        let members = [spans, logs].compactMap { $0 }.map { json -> String in
            let text = String(decoding: json, as: UTF8.self)
            guard text.hasPrefix("{"), text.hasSuffix("}") else { return "" }
            return String(text.dropFirst().dropLast())
        }.filter { !$0.isEmpty }
        return "{" + members.joined(separator: ",") + "}"
    }
}
