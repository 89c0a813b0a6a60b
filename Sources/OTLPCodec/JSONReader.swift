/// A small, strict, fast JSON tokenizer over a mutable copy of the input (RFC 8259).
///
/// Strings are unescaped in place: an unescaped string is never longer than its escaped form,
/// so decoding `"a\nb"` overwrites the bytes inside its own quotes and the string is returned
/// as a range of the buffer, with no allocation. Bytes after the string are untouched, so
/// error offsets stay those of the original text.
///
/// Checks: the full grammar (no trailing commas, no comments, no leading zeros, no bare
/// control characters in strings), valid UTF-8 in strings (an unpaired `\uD800`-style
/// surrogate escape becomes U+FFFD, as most JSON parsers do), nesting depth. Errors are
/// `OTLPDecodeError` `.invalidJSON` with the byte offset: `invalid JSON at offset 12: ...`.
struct JSONReader {
    /// Maximum nesting of objects and arrays in skipped (unknown) values.
    static let maxSkipDepth = 512

    let text: UnsafeMutableRawBufferPointer
    private(set) var position = 0

    init(_ text: UnsafeMutableRawBufferPointer) {
        self.text = text
    }

    func error(_ reason: String, at offset: Int? = nil) -> OTLPDecodeError {
        OTLPDecodeError(.invalidJSON, offset: offset ?? position, reason)
    }

    /// A scalar value's syntactic kind, as seen by `peekKind()`.
    enum Kind {
        case object, array, string, number, literalTrue, literalFalse, null, end, invalid
    }

    /// A number token: its byte range and whether it has a fraction or exponent.
    struct Number {
        var range: Range<Int>
        var isInteger: Bool
    }

    // MARK: Structure

    @inline(__always)
    mutating func skipWhitespace() {
        while position < text.count {
            switch text[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// The kind of the next value, after whitespace.
    @inline(__always)
    mutating func peekKind() -> Kind {
        skipWhitespace()
        guard position < text.count else { return .end }
        switch text[position] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"): return .literalTrue
        case UInt8(ascii: "f"): return .literalFalse
        case UInt8(ascii: "n"): return .null
        default: return .invalid
        }
    }

    /// Consumes `c` (after whitespace) if it is next.
    @inline(__always)
    mutating func consume(_ c: UInt8) -> Bool {
        skipWhitespace()
        if position < text.count && text[position] == c {
            position += 1
            return true
        }
        return false
    }

    /// Consumes `c` or throws "expected <what>".
    @inline(__always)
    mutating func expect(_ c: UInt8, _ what: String) throws(OTLPDecodeError) {
        guard consume(c) else { throw unexpected(expected: what) }
    }

    /// "expected X, found Y" at the current position.
    mutating func unexpected(expected what: String) -> OTLPDecodeError {
        skipWhitespace()
        guard position < text.count else { return error("expected \(what), found end of input") }
        let c = text[position]
        let found = c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : hexByte(c)
        return error("expected \(what), found \(found)")
    }

    /// After a member or element: true for `,`, false for `close`; anything else throws.
    @inline(__always)
    mutating func nextMember(close: UInt8, in container: String) throws(OTLPDecodeError) -> Bool {
        skipWhitespace()
        if position < text.count {
            let c = text[position]
            if c == UInt8(ascii: ",") {
                position += 1
                return true
            }
            if c == close {
                position += 1
                return false
            }
        }
        throw unexpected(expected: "',' or '\(Character(Unicode.Scalar(close)))' in \(container)")
    }

    /// Consumes a literal (`true`, `false`, `null`) that `peekKind` announced.
    mutating func literal(_ word: StaticString) throws(OTLPDecodeError) {
        let n = word.utf8CodeUnitCount
        let start = position
        guard text.count - position >= n else { throw error("invalid literal", at: start) }
        for i in 0..<n where text[position + i] != word.utf8Start[i] {
            throw error("invalid literal", at: start)
        }
        position += n
        if position < text.count, isIdentifierByte(text[position]) {
            throw error("invalid literal", at: start)
        }
    }

    private func isIdentifierByte(_ c: UInt8) -> Bool {
        (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z")
            || c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
    }

    /// Ensures only whitespace remains.
    mutating func expectEnd() throws(OTLPDecodeError) {
        skipWhitespace()
        guard position == text.count else { throw error("unexpected data after the JSON value") }
    }

    // MARK: Strings

    /// Reads a string (the next value must be one) and returns the range of its unescaped
    /// UTF-8 bytes in `text`. Inlined: most strings end within a few 8-byte steps without an
    /// escape or a non-ASCII byte; the rest goes on in `stringContinued`.
    @inline(__always)
    mutating func string() throws(OTLPDecodeError) -> Range<Int> {
        guard consume(UInt8(ascii: "\"")) else { throw unexpected(expected: "a string") }
        let start = position
        var i = position
        let n = text.count
        // Eight bytes at a time while none of them is a quote, a backslash, a control character
        // or non-ASCII.
        if let base = UnsafeRawPointer(text.baseAddress) {
            while i + 8 <= n {
                let mask = Self.attention(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                if mask != 0 {
                    i += mask.trailingZeroBitCount >> 3
                    if text[i] == UInt8(ascii: "\"") {
                        position = i + 1
                        return start..<i
                    }
                    break
                }
                i += 8
            }
        }
        return try stringContinued(start: start, at: i)
    }

    /// The rest of `string()` from `i`: byte by byte, then unescaping in place.
    @inline(never)
    private mutating func stringContinued(start: Int, at scanned: Int) throws(OTLPDecodeError) -> Range<Int> {
        var i = scanned
        let n = text.count
        while i < n {
            let c = text[i]
            if c == UInt8(ascii: "\"") {
                position = i + 1
                return start..<i
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("control character \(hexByte(c)) in string", at: i) }
            if c >= 0x80 {
                let length = UTF8Check.sequenceLength(UnsafeRawBufferPointer(text), at: i)
                guard length > 0 else { throw error("invalid UTF-8 in string", at: i) }
                i += length
            } else {
                i += 1
            }
        }
        guard i < n else { throw error("unterminated string", at: start - 1) }
        // Slow path: unescape into text[w...], w <= i always.
        var w = i
        while true {
            guard i < n else { throw error("unterminated string", at: start - 1) }
            let c = text[i]
            if c == UInt8(ascii: "\"") {
                position = i + 1
                return start..<w
            }
            if c < 0x20 { throw error("control character in string", at: i) }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < n else { throw error("unterminated string", at: start - 1) }
                let e = text[i + 1]
                var simple: UInt8 = 0
                switch e {
                case UInt8(ascii: "\""): simple = 0x22
                case UInt8(ascii: "\\"): simple = 0x5C
                case UInt8(ascii: "/"): simple = 0x2F
                case UInt8(ascii: "b"): simple = 0x08
                case UInt8(ascii: "f"): simple = 0x0C
                case UInt8(ascii: "n"): simple = 0x0A
                case UInt8(ascii: "r"): simple = 0x0D
                case UInt8(ascii: "t"): simple = 0x09
                case UInt8(ascii: "u"):
                    var scalar = try hex4(at: i + 2)
                    i += 6
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        // A high surrogate: combine with a following \uDC00-\uDFFF.
                        if i + 6 <= n, text[i] == UInt8(ascii: "\\"), text[i + 1] == UInt8(ascii: "u"),
                           let low = try? hex4(at: i + 2), low >= 0xDC00 && low < 0xE000 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                        } else {
                            scalar = 0xFFFD
                        }
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        scalar = 0xFFFD
                    }
                    w = writeUTF8(scalar, at: w)
                    continue
                default:
                    throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))' in string", at: i)
                }
                text[w] = simple
                w += 1
                i += 2
                continue
            }
            if c >= 0x80 {
                let length = UTF8Check.sequenceLength(UnsafeRawBufferPointer(text), at: i)
                guard length > 0 else { throw error("invalid UTF-8 in string", at: i) }
                for k in 0..<length { text[w + k] = text[i + k] }
                w += length
                i += length
            } else {
                text[w] = c
                w += 1
                i += 1
            }
        }
    }

    /// The high bit of each of the eight bytes of `w` (little-endian) that is `"`, `\\`, below
    /// 0x20 or above 0x7F, with the "has a byte less than n" trick `(x - n*0x01..) & ~x & 0x80..`.
    /// Bits above the lowest one may be false; the lowest one is always right.
    @inline(__always)
    static func attention(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote
        let hasBackslash = (backslash &- ones) & ~backslash
        let hasControl = (w &- ones &* 0x20) & ~w
        return ((hasQuote | hasBackslash | hasControl) | w) & highs
    }

    private func hex4(at i: Int) throws(OTLPDecodeError) -> UInt32 {
        guard i + 4 <= text.count else { throw error("truncated \\u escape", at: i - 2) }
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let d = Hex.value(text[i + k]) else { throw error("invalid \\u escape", at: i - 2) }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    private func writeUTF8(_ scalar: UInt32, at w: Int) -> Int {
        switch scalar {
        case 0..<0x80:
            text[w] = UInt8(scalar)
            return w + 1
        case 0x80..<0x800:
            text[w] = UInt8(0xC0 | scalar >> 6)
            text[w + 1] = UInt8(0x80 | scalar & 0x3F)
            return w + 2
        case 0x800..<0x10000:
            text[w] = UInt8(0xE0 | scalar >> 12)
            text[w + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            text[w + 2] = UInt8(0x80 | scalar & 0x3F)
            return w + 3
        default:
            text[w] = UInt8(0xF0 | scalar >> 18)
            text[w + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            text[w + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            text[w + 3] = UInt8(0x80 | scalar & 0x3F)
            return w + 4
        }
    }

    /// The bytes of a range returned by `string()`.
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: text[range])
    }

    /// Whether `range` holds exactly the bytes of `name` in `names`.
    @inline(__always)
    func equals(_ range: Range<Int>, _ names: [UInt8], _ name: NameRef) -> Bool {
        guard range.count == Int(name.count) else { return false }
        var j = Int(name.start)
        for i in range {
            if text[i] != names[j] { return false }
            j += 1
        }
        return true
    }

    /// Whether `range` holds exactly the ASCII text `s`.
    func equals(_ range: Range<Int>, _ s: [UInt8]) -> Bool {
        guard range.count == s.count else { return false }
        var j = range.lowerBound
        for c in s {
            if text[j] != c { return false }
            j += 1
        }
        return true
    }

    // MARK: Numbers

    /// Reads a number token (the next value must be one), checking the JSON number grammar.
    mutating func number() throws(OTLPDecodeError) -> Number {
        skipWhitespace()
        let start = position
        guard let end = Self.scanNumber(UnsafeRawBufferPointer(text), from: start) else {
            throw error("invalid number", at: start)
        }
        position = end.end
        return Number(range: start..<end.end, isInteger: end.isInteger)
    }

    /// Scans a JSON number starting at `i`; nil when the grammar is not met.
    static func scanNumber(_ s: UnsafeRawBufferPointer, from start: Int) -> (end: Int, isInteger: Bool)? {
        var i = start
        let n = s.count
        @inline(__always) func isDigit(_ j: Int) -> Bool {
            j < n && s[j] >= UInt8(ascii: "0") && s[j] <= UInt8(ascii: "9")
        }
        if i < n && s[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { return nil }
        if s[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while isDigit(i) { i += 1 }
        }
        var isInteger = true
        if i < n && s[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
            isInteger = false
        }
        if i < n && (s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-")) { i += 1 }
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
            isInteger = false
        }
        if i < n && (isDigit(i) || s[i] == UInt8(ascii: ".")) { return nil }  // "01", "1.2.3"
        return (i, isInteger)
    }

    // MARK: Skipping

    /// Skips one value of any kind (for unknown fields), checking its syntax.
    mutating func skipValue(depth: Int = 0) throws(OTLPDecodeError) {
        switch peekKind() {
        case .object:
            guard depth < Self.maxSkipDepth else { throw error("JSON nested too deeply") }
            position += 1
            if consume(UInt8(ascii: "}")) { return }
            repeat {
                _ = try string()
                try expect(UInt8(ascii: ":"), "':' after an object key")
                try skipValue(depth: depth + 1)
            } while try nextMember(close: UInt8(ascii: "}"), in: "an object")
        case .array:
            guard depth < Self.maxSkipDepth else { throw error("JSON nested too deeply") }
            position += 1
            if consume(UInt8(ascii: "]")) { return }
            repeat {
                try skipValue(depth: depth + 1)
            } while try nextMember(close: UInt8(ascii: "]"), in: "an array")
        case .string: _ = try string()
        case .number: _ = try number()
        case .literalTrue: try literal("true")
        case .literalFalse: try literal("false")
        case .null: try literal("null")
        case .end: throw error("unexpected end of input")
        case .invalid: throw unexpected(expected: "a JSON value")
        }
    }
}

/// `0x1f`-style rendering of a byte for error messages.
func hexByte(_ byte: UInt8) -> String {
    String(decoding: [UInt8(ascii: "0"), UInt8(ascii: "x"), Hex.digits[Int(byte >> 4)], Hex.digits[Int(byte & 15)]],
           as: UTF8.self)
}
