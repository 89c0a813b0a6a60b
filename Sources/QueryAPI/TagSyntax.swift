/// The two ways searches spell tag conditions.
///
/// - Jaeger `tags=`: a JSON object of strings, `{"http.status_code":"500","error":"true"}`.
///   Numbers, `true` and `false` are accepted too and taken as their text (`{"http.status_code":500}`);
///   `null`, objects and arrays are refused.
/// - Tempo `tags=`: logfmt, `service.name=shop http.status_code=500 name="GET /cart"`: keys
///   and values separated by spaces; a value with spaces, `=` or `"` is double-quoted, with
///   `\"`, `\\`, `\n`, `\t`, `\r` escapes inside the quotes. A key may appear once.
enum TagSyntax {
    // MARK: JSON

    static func json(_ text: String) throws(ParameterError) -> [String: String] {
        var reader = Reader(Array(text.utf8))
        var out: [String: String] = [:]
        reader.skipSpaces()
        try reader.expect(UInt8(ascii: "{"), "'{'")
        reader.skipSpaces()
        if reader.peek == UInt8(ascii: "}") {
            reader.position += 1
        } else {
            while true {
                reader.skipSpaces()
                let key = try reader.jsonString()
                reader.skipSpaces()
                try reader.expect(UInt8(ascii: ":"), "':'")
                reader.skipSpaces()
                out[key] = try reader.jsonScalar(key)
                reader.skipSpaces()
                if reader.peek == UInt8(ascii: ",") { reader.position += 1; continue }
                try reader.expect(UInt8(ascii: "}"), "',' or '}'")
                break
            }
        }
        reader.skipSpaces()
        guard reader.atEnd else { throw reader.error("unexpected data after the object") }
        return out
    }

    // MARK: logfmt

    static func logfmt(_ text: String) throws(ParameterError) -> [String: String] {
        var reader = Reader(Array(text.utf8))
        var out: [String: String] = [:]
        while true {
            reader.skipSpaces()
            if reader.atEnd { break }
            let start = reader.position
            while let c = reader.peek, c != UInt8(ascii: "="), c != UInt8(ascii: " "), c != UInt8(ascii: "\"") {
                reader.position += 1
            }
            let key = String(decoding: reader.bytes[start..<reader.position], as: UTF8.self)
            guard !key.isEmpty else { throw reader.error("expected a key") }
            guard reader.peek == UInt8(ascii: "=") else { throw reader.error("expected '=' after key \"\(key)\"") }
            reader.position += 1
            let value: String
            if reader.peek == UInt8(ascii: "\"") {
                value = try reader.quotedLogfmtValue()
            } else {
                let valueStart = reader.position
                while let c = reader.peek, c != UInt8(ascii: " ") {
                    guard c != UInt8(ascii: "\""), c != UInt8(ascii: "=") else { throw reader.error("unexpected '\(Character(Unicode.Scalar(c)))' in a value; quote it") }
                    reader.position += 1
                }
                value = String(decoding: reader.bytes[valueStart..<reader.position], as: UTF8.self)
            }
            guard out[key] == nil else { throw ParameterError("tag \(key) has been set twice") }
            out[key] = value
        }
        return out
    }

    /// A byte cursor with the scanning both syntaxes need.
    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { position >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[position] }

        func error(_ reason: String) -> ParameterError {
            ParameterError("\(reason) at position \(position)")
        }

        mutating func skipSpaces() {
            while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
        }

        mutating func expect(_ c: UInt8, _ what: String) throws(ParameterError) {
            guard peek == c else { throw error("expected \(what)") }
            position += 1
        }

        /// A JSON string literal, unescaped.
        mutating func jsonString() throws(ParameterError) -> String {
            try expect(UInt8(ascii: "\""), "a string")
            var out: [UInt8] = []
            while true {
                guard let c = peek else { throw error("unterminated string") }
                position += 1
                if c == UInt8(ascii: "\"") { break }
                guard c == UInt8(ascii: "\\") else {
                    guard c >= 0x20 else { throw error("control character in a string") }
                    out.append(c)
                    continue
                }
                guard let escape = peek else { throw error("unterminated string") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): out.append(contentsOf: try unicodeEscape())
                default: throw error("invalid escape")
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        /// `XXXX` after `\u` (and a following `\uXXXX` low surrogate), as UTF-8.
        private mutating func unicodeEscape() throws(ParameterError) -> [UInt8] {
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar), bytes[position...].starts(with: Array("\\u".utf8)) {
                position += 2
                let low = try hex4()
                scalar = (0xDC00..<0xE000).contains(low) ? 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00) : 0xFFFD
            }
            return Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
        }

        private mutating func hex4() throws(ParameterError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw error("invalid \\u escape") }
            var value: UInt32 = 0
            for i in 0..<4 {
                guard let digit = QueryParameters.hexValue(bytes[position + i]) else { throw error("invalid \\u escape") }
                value = value << 4 | UInt32(digit)
            }
            position += 4
            return value
        }

        /// A string, number, `true` or `false`, as text.
        mutating func jsonScalar(_ key: String) throws(ParameterError) -> String {
            guard let c = peek else { throw error("expected a value") }
            if c == UInt8(ascii: "\"") { return try jsonString() }
            let start = position
            while let d = peek, d != UInt8(ascii: ","), d != UInt8(ascii: "}"), d != 0x20, d != 0x09, d != 0x0A, d != 0x0D {
                position += 1
            }
            let word = String(decoding: bytes[start..<position], as: UTF8.self)
            guard word == "true" || word == "false" || (!word.isEmpty && Double(word) != nil) else {
                position = start
                throw error("the value of \"\(key)\" must be a string")
            }
            return word
        }

        /// A double-quoted logfmt value.
        mutating func quotedLogfmtValue() throws(ParameterError) -> String {
            position += 1
            var out: [UInt8] = []
            while true {
                guard let c = peek else { throw error("unterminated quoted value") }
                position += 1
                if c == UInt8(ascii: "\"") { break }
                guard c == UInt8(ascii: "\\") else { out.append(c); continue }
                guard let escape = peek else { throw error("unterminated quoted value") }
                position += 1
                switch escape {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                default: out.append(escape)
                }
            }
            if let c = peek, c != 0x20 { throw error("expected a space after a quoted value") }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
