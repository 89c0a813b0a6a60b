/// Validation of the values users type: trace ids and durations.
enum Arguments {
    /// A trace id as 32 lowercase hex digits: 1 to 32 hex digits (either case), left-padded
    /// with zeros like Jaeger and Tempo do; the all-zero id is refused.
    static func traceID(_ text: String) throws(CLIError) -> String {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty, trimmed.utf8.count <= 32, trimmed.utf8.allSatisfy(isHexDigit) else {
            throw CLIError(.invalidInput, "invalid trace id \"\(text.prefix(40))\": expected 1 to 32 hex digits")
        }
        let id = String(repeating: "0", count: 32 - trimmed.utf8.count) + trimmed.lowercased()
        guard id.utf8.contains(where: { $0 != UInt8(ascii: "0") }) else {
            throw CLIError(.invalidInput, "invalid trace id \"\(text)\": the all-zero id is not a trace id")
        }
        return id
    }

    private static func isHexDigit(_ c: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c | 0x20)
    }

    /// A Go-style duration (`250ms`, `1.5s`, `1h30m`; units `ns`, `us`/`µs`, `ms`, `s`, `m`,
    /// `h`), the syntax the query API takes, in nanoseconds; nil when malformed.
    static func duration(_ text: String) -> UInt64? {
        var rest = Substring(text.trimmingSpaces)
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { return nil }
        var total: Double = 0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            case "d": scale = 86_400e9
            default: return nil
            }
            total += value * scale
        }
        guard total < 9e18 else { return nil }
        return UInt64(total)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
