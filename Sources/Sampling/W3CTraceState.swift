/// A W3C `tracestate` with its OpenTelemetry (`ot=`) entry parsed, as the OTel Collector's
/// `pkg/sampling` reads and writes it for consistent sampling.
///
/// Syntax (W3C Trace Context level 2): at most 32 comma-separated `key=value` members with
/// optional spaces/tabs around commas, at most 1024 bytes; keys are `[a-z][a-z0-9_\-*/]{0,255}`
/// or `tenant@system` (`[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}`); values are
/// printable ASCII without `,` and `=`, at most 256 bytes, not ending in a space. The `ot`
/// value is `key:value` pairs separated by `;` (keys `[a-z][a-z0-9]*`, values `[a-zA-Z0-9._-]*`,
/// at most 256 bytes); `rv` must be 14 hex digits and `th` 1 to 14.
///
/// Serialization writes the `ot` entry first (when it has any value), `rv` then `th` then the
/// other `ot` keys in their order, then the other vendors' members in their order.
public struct W3CTraceState: Sendable, Equatable {
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// `rv`; setting it writes its canonical text (a parsed one is written back as it came).
    public var randomness: SamplingRandomness? {
        didSet { parsedRvalue = nil }
    }
    /// The `rv` text as it arrived, while `randomness` is the parsed one.
    private var parsedRvalue: String?
    public var threshold: SamplingThreshold?
    /// The `th` text as it arrived (kept verbatim when the threshold is not changed).
    public private(set) var tvalue = ""
    /// Other `ot` keys, in order.
    public var otelExtra: [(key: String, value: String)] = []
    /// Other vendors' members, in order.
    public var extra: [(key: String, value: String)] = []

    public init() {}

    public init(parsing text: String) throws(ParseError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= 1024 else { throw ParseError(reason: "tracestate is longer than 1024 bytes") }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        let members = bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        // As pkg/sampling: the 32nd member is already refused.
        guard members.count < 32 else { throw ParseError(reason: "tracestate has 32 or more members") }
        for raw in members {
            let member = Self.trimmingOWS(raw)
            guard let eq = member.firstIndex(of: UInt8(ascii: "=")) else {
                throw ParseError(reason: "tracestate member without '='")
            }
            let key = Array(member[member.startIndex..<eq])
            let value = Array(member[(eq + 1)...])
            guard Self.isValidKey(key) else { throw ParseError(reason: "invalid tracestate key") }
            guard Self.isValidValue(value) else { throw ParseError(reason: "invalid tracestate value") }
            let k = String(decoding: key, as: UTF8.self), v = String(decoding: value, as: UTF8.self)
            if k == "ot" {
                try parseOTel(value)
            } else {
                extra.append((k, v))
            }
        }
    }

    private mutating func parseOTel(_ value: [UInt8]) throws(ParseError) {
        guard value.count <= 256 else { throw ParseError(reason: "ot tracestate value is longer than 256 bytes") }
        for pair in value.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false) {
            guard let colon = pair.firstIndex(of: UInt8(ascii: ":")) else { throw ParseError(reason: "invalid ot tracestate member") }
            let key = Array(pair[pair.startIndex..<colon]), v = Array(pair[(colon + 1)...])
            guard let first = key.first, Self.isLower(first), key.allSatisfy({ Self.isLower($0) || Self.isDigit($0) }),
                  v.allSatisfy({ Self.isLower($0) || Self.isDigit($0) || ($0 >= 0x41 && $0 <= 0x5a) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d })
            else { throw ParseError(reason: "invalid ot tracestate member") }
            let k = String(decoding: key, as: UTF8.self), text = String(decoding: v, as: UTF8.self)
            switch k {
            case "rv":
                guard let r = SamplingRandomness(rvalue: text) else { throw ParseError(reason: "r-value must have 14 hex digits") }
                randomness = r
                parsedRvalue = text
            case "th":
                guard let t = SamplingThreshold(tvalue: text) else { throw ParseError(reason: "t-value must have 1 to 14 hex digits") }
                threshold = t
                tvalue = text
            default:
                otelExtra.append((k, text))
            }
        }
    }

    /// Sets the threshold after sampling with `sampled`, unless that would raise the
    /// probability above the arriving one (returns false and keeps the old one, as upstream's
    /// `UpdateTValueWithSampling`). `never` removes `th`.
    @discardableResult
    public mutating func updateThreshold(_ sampled: SamplingThreshold) -> Bool {
        if let current = threshold, !tvalue.isEmpty, current > sampled { return false }
        threshold = sampled == .never ? nil : sampled
        tvalue = sampled.tvalue
        return true
    }

    /// Removes `th` (an arriving threshold found inconsistent with the randomness).
    public mutating func clearThreshold() {
        threshold = nil
        tvalue = ""
    }

    public var serialized: String {
        var ot: [String] = []
        if let rv = parsedRvalue ?? randomness?.rvalue { ot.append("rv:" + rv) }
        if !tvalue.isEmpty { ot.append("th:" + tvalue) }
        for (k, v) in otelExtra { ot.append(k + ":" + v) }
        var members: [String] = []
        if !ot.isEmpty { members.append("ot=" + ot.joined(separator: ";")) }
        for (k, v) in extra { members.append(k + "=" + v) }
        return members.joined(separator: ",")
    }

    public static func == (a: W3CTraceState, b: W3CTraceState) -> Bool { a.serialized == b.serialized }

    /// The members of a W3C tracestate as OpenTelemetry's Go API (`trace.ParseTraceState`)
    /// reads them: empty members skipped, spaces around members trimmed, every key and value
    /// checked; nil when any member is invalid, a key repeats, or there are more than 32.
    public static func members(_ text: String) -> [(key: String, value: String)]? {
        var out: [(key: String, value: String)] = []
        for raw in Array(text.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
            let member = trimmingOWS(raw)
            if member.isEmpty { continue }
            guard let eq = member.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            let key = Array(member[member.startIndex..<eq]), value = Array(member[(eq + 1)...])
            guard isValidKey(key), isValidValue(value) else { return nil }
            let k = String(decoding: key, as: UTF8.self)
            if out.contains(where: { $0.key == k }) { return nil }
            out.append((k, String(decoding: value, as: UTF8.self)))
        }
        return out.count <= 32 ? out : nil  // otel-go's ParseTraceState allows 32
    }

    // MARK: Syntax

    static func trimmingOWS(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = s
        while let f = s.first, f == 0x20 || f == 0x09 { s.removeFirst() }
        while let l = s.last, l == 0x20 || l == 0x09 { s.removeLast() }
        return s
    }

    static func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7a }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isKeyChar(_ c: UInt8) -> Bool { isLower(c) || isDigit(c) || c == 0x5f || c == 0x2d || c == 0x2a || c == 0x2f }

    static func isValidKey(_ key: [UInt8]) -> Bool {
        if let at = key.firstIndex(of: UInt8(ascii: "@")) {
            let tenant = key[..<at], system = key[(at + 1)...]
            guard let t = tenant.first, isLower(t) || isDigit(t), tenant.count <= 241, tenant.allSatisfy(isKeyChar),
                  let s = system.first, isLower(s), system.count <= 14, system.allSatisfy(isKeyChar) else { return false }
            return true
        }
        guard let first = key.first, isLower(first), key.count <= 256 else { return false }
        return key.allSatisfy(isKeyChar)
    }

    static func isValidValue(_ value: [UInt8]) -> Bool {
        guard let last = value.last, value.count <= 256, last != 0x20 else { return false }
        return value.allSatisfy { $0 >= 0x20 && $0 <= 0x7e && $0 != 0x2c && $0 != 0x3d }
    }
}
