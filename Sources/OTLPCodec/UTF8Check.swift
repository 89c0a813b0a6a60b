/// UTF-8 validation, so JSON output is always valid UTF-8 and JSON input is checked.
enum UTF8Check {
    /// Length of the valid UTF-8 sequence starting at `i` (whose first byte is >= 0x80),
    /// or 0 when it is invalid (bad lead or continuation byte, overlong form, surrogate,
    /// beyond U+10FFFF, or truncated).
    @inline(__always)
    static func sequenceLength(_ s: UnsafeRawBufferPointer, at i: Int) -> Int {
        let b0 = s[i]
        let n = s.count
        @inline(__always) func cont(_ j: Int) -> Bool { j < n && s[j] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            return cont(i + 1) ? 2 : 0
        case 0xE0...0xEF:
            guard cont(i + 1), cont(i + 2) else { return 0 }
            let b1 = s[i + 1]
            if b0 == 0xE0 && b1 < 0xA0 { return 0 }  // overlong
            if b0 == 0xED && b1 >= 0xA0 { return 0 }  // surrogate
            return 3
        case 0xF0...0xF4:
            guard cont(i + 1), cont(i + 2), cont(i + 3) else { return 0 }
            let b1 = s[i + 1]
            if b0 == 0xF0 && b1 < 0x90 { return 0 }  // overlong
            if b0 == 0xF4 && b1 >= 0x90 { return 0 }  // > U+10FFFF
            return 4
        default:
            return 0
        }
    }
}
