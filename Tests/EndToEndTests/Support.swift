import CollectorTesting
import Foundation
import Testing

/// Every end-to-end suite is nested in this one, so that all of them run one test at a time:
/// each test starts its own `collectord` and Python clients, and the machine has two cores.
@Suite(.serialized)
enum E2E {}

/// Four free ports for one collector.
struct Ports: Sendable {
    let grpc: Int
    let http: Int
    let metrics: Int
    let health: Int

    init() throws {
        let p = try FreePort.allocate(count: 4)
        (grpc, http, metrics, health) = (p[0], p[1], p[2], p[3])
    }

    var grpcEndpoint: String { "http://127.0.0.1:\(grpc)" }
    var httpEndpoint: String { "http://127.0.0.1:\(http)" }
    var grpcTarget: String { "127.0.0.1:\(grpc)" }
}

/// A collector config in the OpenTelemetry Collector's YAML: OTLP (gRPC + HTTP) -> batch ->
/// debug for traces and logs, health_check, /metrics, all on `ports`.
struct TestConfig: Sendable {
    var ports: Ports
    var verbosity = "detailed"
    /// Lines under `processors.batch` (one level deeper than `batch:`).
    var batch = ["timeout: 20ms"]
    /// `exporters.debug.sending_queue.queue_size`, when set.
    var queueSize: Int?
    /// Extra lines under `receivers.otlp.protocols.grpc` / `.http`.
    var grpc: [String] = []
    var http: [String] = []
    /// Extra lines under `exporters.debug`.
    var debugExtra: [String] = []
    /// Lines under `processors.memory_limiter`; when set, it is the first processor of both pipelines.
    var memoryLimiter: [String]?
    /// Lines under `service.limits`.
    var limits: [String] = []
    /// `--shutdown-timeout` (nil: the daemon's default, 20s). Short, so that a shutdown that
    /// never completes costs seconds.
    var shutdownTimeout: String? = "5s"

    init(ports: Ports) { self.ports = ports }

    var yaml: String {
        func lines(_ items: [String], indent: Int) -> String {
            items.map { String(repeating: " ", count: indent) + $0 + "\n" }.joined()
        }
        var queue = ""
        if let queueSize { queue = "    sending_queue:\n      queue_size: \(queueSize)\n" }
        let limiter = memoryLimiter.map { "  memory_limiter:\n" + lines($0, indent: 4) } ?? ""
        let processors = memoryLimiter == nil ? "[batch]" : "[memory_limiter, batch]"
        return """
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:\(ports.grpc)
            \(lines(grpc, indent: 8))      http:
                    endpoint: 127.0.0.1:\(ports.http)
            \(lines(http, indent: 8))processors:
            \(limiter)  batch:
            \(lines(batch, indent: 4))exporters:
              debug:
                verbosity: \(verbosity)
            \(queue)\(lines(debugExtra, indent: 4))extensions:
              health_check:
                endpoint: 127.0.0.1:\(ports.health)
            service:
              extensions: [health_check]
            \(limits.isEmpty ? "" : "  limits:\n" + lines(limits, indent: 4))  telemetry:
                metrics:
                  address: 127.0.0.1:\(ports.metrics)
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: \(processors)
                  exporters: [debug]
                logs:
                  receivers: [otlp]
                  processors: \(processors)
                  exporters: [debug]

            """
    }

    /// Starts `collectord` with this config and waits until every listener accepts connections.
    /// `arguments` go after `--config FILE` (e.g. `--shutdown-timeout 5s`).
    func start(arguments: [String] = []) async throws -> CollectorProcess {
        let timeout = shutdownTimeout.map { ["--shutdown-timeout", $0] } ?? []
        let collector = try CollectorProcess(config: yaml, extraArguments: timeout + arguments)
        try await collector.waitForOutput(containing: "collectord started", in: .stderr)
        for port in [ports.grpc, ports.http, ports.metrics, ports.health] {
            try await collector.waitForPort(port)
        }
        return collector
    }
}

// MARK: metrics

/// The self-metrics the tests look at, read from one scrape.
struct Counters: Sendable, Equatable, CustomStringConvertible {
    var acceptedSpans: [String: Double]
    var refusedSpans: [String: Double]
    var acceptedLogs: [String: Double]
    var refusedLogs: [String: Double]
    var sentSpans: Double
    var sentLogs: Double
    var failedSpans: Double
    var failedLogs: Double

    init(_ m: PrometheusScrape) {
        func byTransport(_ name: String) -> [String: Double] {
            var out: [String: Double] = [:]
            for s in m.matching(name, labels: ["receiver": "otlp"]) { out[s.labels["transport"] ?? "?"] = s.value }
            return out
        }
        acceptedSpans = byTransport("otelcol_receiver_accepted_spans_total")
        refusedSpans = byTransport("otelcol_receiver_refused_spans_total")
        acceptedLogs = byTransport("otelcol_receiver_accepted_log_records_total")
        refusedLogs = byTransport("otelcol_receiver_refused_log_records_total")
        let debug = ["exporter": "debug"]
        sentSpans = m.sum("otelcol_exporter_sent_spans_total", labels: debug)
        sentLogs = m.sum("otelcol_exporter_sent_log_records_total", labels: debug)
        failedSpans = m.sum("otelcol_exporter_send_failed_spans_total", labels: debug)
        failedLogs = m.sum("otelcol_exporter_send_failed_log_records_total", labels: debug)
    }

    var description: String {
        "accepted spans \(acceptedSpans), refused spans \(refusedSpans), accepted logs \(acceptedLogs), "
            + "refused logs \(refusedLogs), sent spans \(sentSpans), sent logs \(sentLogs), "
            + "failed spans \(failedSpans), failed logs \(failedLogs)"
    }
}

func scrape(_ ports: Ports) async throws -> PrometheusScrape {
    try await SimpleHTTP.metrics(port: ports.metrics)
}

func counters(_ ports: Ports) async throws -> Counters {
    Counters(try await scrape(ports))
}

// MARK: clients

/// Runs `send_traces.py` (or `send_logs.py` with `signal: "logs"`) to completion and returns
/// its report, recording a test issue (with the client's stderr) when it did not succeed.
func runSDK(
    _ signal: String = "traces", protocol proto: String, ports: Ports, args: [String] = [],
    timeout: Duration = .seconds(60)
) async throws -> ClientReport {
    let script = signal == "traces" ? "send_traces.py" : "send_logs.py"
    let endpoint = proto == "grpc" ? ports.grpcEndpoint : ports.httpEndpoint
    let result = try await PythonClient.run(
        script: script, args: ["--endpoint", endpoint, "--protocol", proto] + args, timeout: timeout)
    #expect(result.exitCode == 0, "\(script) \(proto) failed:\n\(result.stderr)")
    let report = try result.decode(ClientReport.self)
    #expect(report.ok, "\(report.errors) \(report.sdkLog)")
    return report
}

/// Starts `send_traces.py` / `send_logs.py` in the background.
func startSDK(_ signal: String = "traces", protocol proto: String, ports: Ports, args: [String] = []) throws
    -> ManagedProcess
{
    let script = signal == "traces" ? "send_traces.py" : "send_logs.py"
    let endpoint = proto == "grpc" ? ports.grpcEndpoint : ports.httpEndpoint
    return try PythonClient.start(script: script, args: ["--endpoint", endpoint, "--protocol", proto] + args)
}

/// Runs `raw_grpc.py` with `args` (one call) and decodes its report.
func rawGRPC(_ ports: Ports, _ args: [String] = []) async throws -> RawGRPCReport {
    let result = try await PythonClient.run(script: "raw_grpc.py", args: ["--endpoint", ports.grpcTarget] + args)
    return try result.decode(RawGRPCReport.self)
}

/// Runs `send_json.py` and decodes its report.
func sendJSON(_ ports: Ports, _ args: [String] = []) async throws -> (exitCode: Int32, report: JSONPostReport) {
    let result = try await PythonClient.run(script: "send_json.py", args: ["--endpoint", ports.httpEndpoint] + args)
    return (result.exitCode, try result.decode(JSONPostReport.self))
}

// MARK: debug output

/// Waits until the collector's stdout holds `count` spans ("Traces") or log records ("Logs") in
/// its summary lines (every verbosity prints them), then returns stdout.
@discardableResult
func waitForPrinted(
    _ collector: CollectorProcess, _ signal: String, count: Int, timeout: Duration = .seconds(15)
) async throws -> String {
    try await waitUntil("\(count) \(signal) items printed (now \(DebugOutput.itemCount(in: collector.stdoutText, signal: signal)))",
                        timeout: timeout) {
        DebugOutput.itemCount(in: collector.stdoutText, signal: signal) >= count
    }
    return collector.stdoutText
}

/// Records one issue per difference between `report` and the detailed output `text`.
func expectPrintedExactly(
    _ report: ClientReport, in text: String, exclusive: Bool = true, sourceLocation: SourceLocation = #_sourceLocation
) {
    let problems = DebugMatch.mismatches(report, in: text, exclusive: exclusive)
    #expect(problems.isEmpty, "\(problems.count) mismatches:\n\(problems.prefix(10).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
}

/// The printed entries for the span named `name` (detailed verbosity).
func printedSpans(named name: String, in text: String) -> [DebugEntry] {
    DebugOutput.entries(in: text).filter { $0.kind == .span && $0.field("name") == DebugRendering.quoted(name) }
}

/// Expects no warning or error in the collector's log so far, then stops it (SIGTERM).
///
/// The exit status is not checked here: a SIGTERM while any client connection is still open
/// can hang the shutdown (a daemon bug, see `E2E.Shutdown`), and the suites other than
/// `Shutdown` are about something else. `Shutdown` checks the exit.
func expectCleanLogAndStop(_ collector: CollectorProcess, sourceLocation: SourceLocation = #_sourceLocation) async {
    let log = collector.stderrText
    let bad = log.split(separator: "\n").filter { $0.contains("\twarn\t") || $0.contains("\terror\t") }
    #expect(bad.isEmpty, "\(bad.joined(separator: "\n"))", sourceLocation: sourceLocation)
    await collector.stop(timeout: .seconds(10))
}
