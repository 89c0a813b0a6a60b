import ArgumentParser
import CollectorCore
import FoundationEssentials
import Glibc

/// `collectorctl slo --service S --objective 99.9 --latency 300ms --window 30d`: the service's
/// SLIs, error budget and burn rates, from the server spans in the store.
struct SLOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slo",
        abstract: "Show a service's SLIs, error budget and burn rates from its stored server spans.",
        discussion: """
            Uses the query API's /api/collectord/v1/sli. A request is a SERVER span of the \
            service; it fails when its status is ERROR and is slow when it lasts longer than \
            --latency. The error budget is the share of requests the objective lets fail \
            (100 - objective %), also shown as the full outage it allows over the window (99.9% \
            over 30d: 43m12s). Spent: the window's error ratio over that share. Burn rate: a \
            window's error ratio over that share (1x spends the budget exactly by the window's end).

            Exit codes: 0 ok, 2 refused parameter, 4 server unreachable, 5 server error.
            """)

    @Option(help: "Service name (service.name) of the server spans.")
    var service: String

    @Option(help: "Objective, the percentage of requests that must succeed, e.g. 99.9.")
    var objective: Double

    @Option(help: "Latency target, e.g. 300ms: the share of requests at most this long is shown.")
    var latency: String

    @Option(help: "SLO window, e.g. 30d or 7d.")
    var window: String = "30d"

    @Flag(help: "Print JSON for scripts instead of the table.")
    var json = false

    @OptionGroup var server: ServerOptions

    func validate() throws {
        guard objective > 0 && objective < 100 else { throw ValidationError("--objective must be between 0 and 100 (exclusive), e.g. 99.9") }
        guard let latencyNanos = Arguments.duration(latency), latencyNanos > 0 else {
            throw ValidationError("--latency: invalid duration \"\(latency)\"; use e.g. 300ms, 1.5s")
        }
        guard let windowNanos = Arguments.duration(window), windowNanos >= 1_000_000_000 else {
            throw ValidationError("--window: invalid duration \"\(window)\"; use e.g. 30d, 7d, 24h")
        }
    }

    func run() throws {
        try CLIError.reporting {
            let client = QueryClient(http: try server.connection())
            let report = try SLOReport(service: service, objective: objective, latency: latency, window: window,
                                       sli: try client.sli(service: service, latencyNanos: Arguments.duration(latency)!,
                                                           end: SearchCommand.now(), windows: windowSeconds))
            print(json ? report.json : report.text, terminator: "")
        }
    }

    /// The SLO window, then 6 h and 1 h (the burn-rate windows).
    var windowSeconds: [UInt64] { [Arguments.duration(window)! / 1_000_000_000, 21_600, 3_600] }
}

/// What the query API counted (`/api/collectord/v1/sli`).
struct SLICounts: Decodable {
    struct Window: Decodable {
        var seconds: UInt64
        var requests: Int
        var errors: Int
        var slow: Int
    }

    var service: String
    var latencyNanos: UInt64
    var end: UInt64
    var windows: [Window]
    var partial: String?
}

/// The SLO arithmetic and its two renderings.
struct SLOReport {
    struct Row {
        var name: String
        var window: SLICounts.Window
        var success: Double?
        var underLatency: Double?
        var burnRate: Double?
    }

    var service: String
    var objective: Double
    var latency: String
    var window: String
    var budgetRatio: Double
    var outageSeconds: Double
    var spent: Double?
    var rows: [Row]
    var partial: String?

    init(service: String, objective: Double, latency: String, window: String, sli: SLICounts) {
        self.service = service
        self.objective = objective
        self.latency = latency
        self.window = window
        budgetRatio = (100 - objective) / 100
        outageSeconds = Double(sli.windows.first?.seconds ?? 0) * budgetRatio
        let names = [window, "6h", "1h"]
        let ratio = budgetRatio
        rows = sli.windows.enumerated().map { i, w in
            let requests = Double(w.requests)
            let errorRatio = w.requests > 0 ? Double(w.errors) / requests : nil
            return Row(name: i < names.count ? names[i] : "\(w.seconds)s", window: w,
                       success: errorRatio.map { 1 - $0 }, underLatency: w.requests > 0 ? 1 - Double(w.slow) / requests : nil,
                       burnRate: errorRatio.map { $0 / ratio })
        }
        spent = rows.first?.burnRate
        partial = sli.partial
    }

    var text: String {
        var out = "SLO \(service): \(Self.percent(objective / 100, 3)) of requests succeed over \(window); latency target \(latency)\n"
        let header = ["window", "requests", "errors", "success", "under \(latency)", "burn rate"]
        var table = [header]
        for r in rows {
            table.append([r.name, String(r.window.requests), String(r.window.errors), r.success.map { Self.percent($0, 3) } ?? "-",
                          r.underLatency.map { Self.percent($0, 3) } ?? "-", r.burnRate.map { String(format2: $0) + "x" } ?? "-"])
        }
        let widths = header.indices.map { c in table.map { $0[c].count }.max() ?? 0 }
        for row in table {
            out += row.enumerated().map { c, cell in
                c == 0 ? cell.padding(widths[c]) : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  ") + "\n"
        }
        out += "error budget: \(Self.percent(budgetRatio, 3)) of requests, \(Self.clock(outageSeconds)) of full outage in \(window)"
        if let spent {
            out += "; spent \(Self.percent(spent, 1)), remaining \(Self.percent(1 - spent, 1))\n"
        } else {
            out += "; no requests in the window\n"
        }
        if let partial { out += "partial result: \(partial)\n" }
        return out
    }

    var json: String {
        func number(_ d: Double?) -> String {
            guard let d, d.isFinite else { return "null" }
            return String(format2: d, digits: 6)
        }
        var out = "{\"service\":\(JSONText.quote(service)),\"objective\":\(number(objective)),\"latency\":\(JSONText.quote(latency)),"
        out += "\"window\":\(JSONText.quote(window)),\"errorBudget\":{\"ratio\":\(number(budgetRatio)),\"fullOutageSeconds\":\(number(outageSeconds)),"
        out += "\"spent\":\(number(spent)),\"remaining\":\(number(spent.map { 1 - $0 }))},\"windows\":["
        out += rows.map { r in
            "{\"name\":\(JSONText.quote(r.name)),\"seconds\":\(r.window.seconds),\"requests\":\(r.window.requests),\"errors\":\(r.window.errors),"
                + "\"slow\":\(r.window.slow),\"successRatio\":\(number(r.success)),\"latencyRatio\":\(number(r.underLatency)),"
                + "\"burnRate\":\(number(r.burnRate))}"
        }.joined(separator: ",")
        out += "],\"partial\":\(partial.map(JSONText.quote) ?? "null")}\n"
        return out
    }

    /// `99.900%` with `digits` decimals.
    static func percent(_ ratio: Double, _ digits: Int) -> String { String(format2: ratio * 100, digits: digits) + "%" }

    /// `43m12s`, `1h0m0s`, `2d3h0m0s`, `0.9s`.
    static func clock(_ seconds: Double) -> String {
        if seconds < 60 { return String(format2: seconds, digits: seconds == seconds.rounded() ? 0 : 1) + "s" }
        var s = Int(seconds.rounded())
        let d = s / 86_400, h = (s % 86_400) / 3600, m = (s % 3600) / 60
        s %= 60
        if d > 0 { return "\(d)d\(h)h\(m)m\(s)s" }
        if h > 0 { return "\(h)h\(m)m\(s)s" }
        return "\(m)m\(s)s"
    }
}

extension String {
    /// A fixed-point decimal with `digits` decimals (2 by default), rounded half away from zero.
    init(format2 value: Double, digits: Int = 2) {
        let scale = (0..<digits).reduce(1.0) { r, _ in r * 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled - Double(whole) * scale)
        var text = (value < 0 && scaled > 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let f = String(fraction)
            text += "." + String(repeating: "0", count: digits - f.count) + f
        }
        self = text
    }

    func padding(_ width: Int) -> String { self + String(repeating: " ", count: Swift.max(0, width - count)) }
}
