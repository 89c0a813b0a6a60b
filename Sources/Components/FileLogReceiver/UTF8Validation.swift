/// UTF-8 validation without building a String (the tailer checks every line): eight bytes at a
/// time while they are ASCII, then the sequence rules of RFC 3629 (no overlong forms, no
/// surrogates, nothing above U+10FFFF).
enum UTF8Validation {
    static func isValid(_ b: UnsafeRawBufferPointer) -> Bool {
        let n = b.count
        var i = 0
        while i < n {
            while i + 8 <= n, b.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
            guard i < n else { return true }
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let length: Int
            var scalar: UInt32
            switch c {
            case 0xC2...0xDF: length = 2; scalar = UInt32(c & 0x1F)
            case 0xE0...0xEF: length = 3; scalar = UInt32(c & 0x0F)
            case 0xF0...0xF4: length = 4; scalar = UInt32(c & 0x07)
            default: return false
            }
            guard i + length <= n else { return false }
            for k in 1..<length {
                let cc = b[i + k]
                guard cc & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(cc & 0x3F)
            }
            switch length {
            case 3 where scalar < 0x800 || (0xD800...0xDFFF).contains(scalar): return false
            case 4 where scalar < 0x10000 || scalar > 0x10FFFF: return false
            default: break
            }
            i += length
        }
        return true
    }
}
