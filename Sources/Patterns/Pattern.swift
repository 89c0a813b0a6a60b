internal import RE2Shim

/// A user-supplied regular expression, compiled by RE2 (Debian's libre2).
///
/// Why RE2: configs are written for the OpenTelemetry Collector, whose Go `regexp` package
/// implements RE2 syntax with linear-time matching. RE2 gives patterns the same meaning here,
/// and no pattern can take exponential time (`(a+)+$` on a long input is matched in time linear
/// in the input). Every pattern from a config goes through this type.
///
/// Thread-safe: an RE2 object is immutable after compilation, so one `Pattern` may be matched
/// from any number of threads at once. Text is matched as UTF-8 bytes.
public final class Pattern: Sendable, CustomStringConvertible {
    /// Where a match must lie.
    public enum Anchor: Sendable {
        /// Anywhere in the text (Go's `MatchString`).
        case anywhere
        /// Starting at the first byte.
        case start
        /// The whole text.
        case whole

        var c: Int32 {
            switch self {
            case .anywhere: Int32(COLLECTOR_RE2_UNANCHORED.rawValue)
            case .start: Int32(COLLECTOR_RE2_ANCHOR_START.rawValue)
            case .whole: Int32(COLLECTOR_RE2_ANCHOR_BOTH.rawValue)
            }
        }
    }

    /// A pattern RE2 does not accept, with RE2's reason.
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let pattern: String
        public let reason: String
        public var description: String { "invalid regular expression \"\(pattern)\": \(reason)" }
    }

    public let source: String
    /// Only read after init: RE2 matching is const, so sharing it across threads is safe.
    private nonisolated(unsafe) let regex: OpaquePointer

    public init(_ source: String) throws(SyntaxError) {
        var error = [CChar](repeating: 0, count: 256)
        var text = source
        let compiled = text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { chars in
                collector_re2_compile(chars.baseAddress, chars.count, &error, error.count)
            }
        }
        guard let compiled else {
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw SyntaxError(pattern: source, reason: reason)
        }
        self.source = source
        self.regex = compiled
    }

    deinit { collector_re2_free(regex) }

    /// Number of capturing groups.
    public var groupCount: Int { Int(collector_re2_groups(regex)) }

    /// True when `bytes` (UTF-8 text) matches with `anchor`.
    public func matches(_ bytes: UnsafeRawBufferPointer, anchor: Anchor = .anywhere) -> Bool {
        collector_re2_match(regex, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, anchor.c) == 1
    }

    /// True when `text` matches with `anchor`.
    public func matches(_ text: String, anchor: Anchor = .anywhere) -> Bool {
        var copy = text
        return copy.withUTF8 { matches(UnsafeRawBufferPointer($0), anchor: anchor) }
    }

    /// The names of the capturing groups, by group number (index 0 is the whole match and has
    /// none; an unnamed group's entry is nil).
    public var groupNames: [String?] {
        var names: [String?] = [nil]
        var buffer = [CChar](repeating: 0, count: 1024)
        for i in stride(from: 1, through: groupCount, by: 1) {
            let n = collector_re2_group_name(regex, Int32(i), &buffer, buffer.count)
            names.append(n == 0 ? nil : String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// Where the whole match (index 0) and each capturing group are in `bytes`, when it
    /// matches with `anchor`; a group that took no part is nil.
    public func groups(_ bytes: UnsafeRawBufferPointer, anchor: Anchor = .anywhere) -> [Range<Int>?]? {
        let count = groupCount + 1
        var starts = [Int](repeating: -1, count: count), ends = [Int](repeating: -1, count: count)
        let matched = starts.withUnsafeMutableBufferPointer { s in
            ends.withUnsafeMutableBufferPointer { e in
                collector_re2_match_groups(regex, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, anchor.c,
                                           s.baseAddress, e.baseAddress, Int32(count))
            }
        }
        guard matched == 1 else { return nil }
        return (0..<count).map { starts[$0] < 0 ? nil : starts[$0]..<ends[$0] }
    }

    public var description: String { source }
}
