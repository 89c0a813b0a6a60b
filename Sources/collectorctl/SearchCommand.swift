import ArgumentParser
import Glibc

/// `collectorctl search --service S ...`: recent traces that match, newest first.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "List traces with a span of a service (and operation), newest first.",
        discussion: """
            Uses the query API's /api/search. Conditions apply to one same span: its service, \
            its name (--operation) and its attributes (--tag; error=true also matches spans \
            with status ERROR). Durations are the whole trace's: 250ms, 1.5s, 2m, 1h30m.

            Exit codes: 0 ok (also when nothing matches), 2 refused parameter, 4 server \
            unreachable, 5 server error or unexpected answer.
            """)

    @Option(help: "Service name (service.name) of a span of the trace.")
    var service: String

    @Option(help: "Span name, on a span of that service.")
    var operation: String?

    @Option(name: .customLong("tag"), help: ArgumentHelp("An attribute condition key=value; repeatable.", valueName: "key=value"))
    var tags: [String] = []

    @Option(help: "Only traces lasting at least this long, e.g. 250ms.")
    var minDuration: String?

    @Option(help: "Only traces lasting at most this long, e.g. 2s.")
    var maxDuration: String?

    @Option(help: "Only traces from this far back until now, e.g. 15m or 1h (default: all stored).")
    var since: String?

    @Option(help: "At most this many traces.")
    var limit = 20

    @Flag(help: "Print the server's JSON answer instead of the table.")
    var json = false

    @Option(help: "Colours: auto (only on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorMode = .auto

    @OptionGroup var server: ServerOptions

    func validate() throws {
        for (name, value) in [("--min-duration", minDuration), ("--max-duration", maxDuration), ("--since", since)] {
            if let value, Arguments.duration(value) == nil {
                throw ValidationError("\(name): invalid duration \"\(value)\"; use e.g. 250ms, 1.5s, 15m, 1h")
            }
        }
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        for tag in tags where !tag.contains("=") || tag.hasPrefix("=") {
            throw ValidationError("--tag \"\(tag)\": expected key=value")
        }
    }

    func run() throws {
        try CLIError.reporting {
            let client = QueryClient(http: try server.connection())
            let (results, body) = try client.search(parameters(now: Self.now()))
            if json {
                print(String(decoding: body, as: UTF8.self))
            } else {
                print(SearchTable(palette: color.palette).render(results), terminator: "")
            }
        }
    }

    /// The `/api/search` parameters: logfmt `tags` (`service.name`, `name`, the `--tag`s),
    /// durations in nanoseconds, `start` in unix seconds (`now` minus `--since`), `limit`.
    func parameters(now: UInt64) -> [(String, String)] {
        var conditions = [Self.logfmt("service.name", service)]
        if let operation { conditions.append(Self.logfmt("name", operation)) }
        for tag in tags {
            guard let equals = tag.firstIndex(of: "=") else { continue }
            conditions.append(Self.logfmt(String(tag[..<equals]), String(tag[tag.index(after: equals)...])))
        }
        var out = [("tags", conditions.joined(separator: " "))]
        if let text = minDuration, let ns = Arguments.duration(text) { out.append(("minDuration", "\(ns)ns")) }
        if let text = maxDuration, let ns = Arguments.duration(text) { out.append(("maxDuration", "\(ns)ns")) }
        if let text = since, let ns = Arguments.duration(text) {
            out.append(("start", String((now > ns ? now - ns : 0) / 1_000_000_000)))
        }
        out.append(("limit", String(limit)))
        return out
    }

    /// `key=value`, the value quoted (with `\"` and `\\` escaped) when it has a space, `"` or `=`.
    static func logfmt(_ key: String, _ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" }) else {
            return "\(key)=\(value)"
        }
        var quoted = ""
        for c in value {
            if c == "\"" || c == "\\" { quoted.append("\\") }
            quoted.append(c)
        }
        return "\(key)=\"\(quoted)\""
    }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
