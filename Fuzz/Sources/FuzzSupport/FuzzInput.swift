/// A fuzzer's input read front to back: a few option bytes (which signal, which mode, which
/// limits), then the payload. Running out of bytes is never an error: options read as 0 and the
/// payload is empty, so every input is a valid test case.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var position = 0

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    }

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var isAtEnd: Bool { position >= bytes.count }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A little-endian integer of `count` bytes (at most 8).
    public mutating func integer(bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<min(count, 8) { value |= UInt64(byte()) << (8 * UInt64(i)) }
        return value
    }

    /// The next `count` bytes (fewer at the end).
    public mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, position + max(0, count))
        defer { position = end }
        return Array(bytes[position..<end])
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        take(bytes.count - position)
    }

    /// One of `choices`, chosen by the next byte.
    public mutating func pick<T>(_ choices: [T]) -> T {
        choices[Int(byte()) % choices.count]
    }

    /// The rest cut at every occurrence of `separator` (at most `limit` pieces; the last keeps
    /// any further separators): several requests, lines or payloads out of one input.
    public mutating func pieces(separatedBy separator: [UInt8], limit: Int) -> [[UInt8]] {
        let all = rest()
        var out: [[UInt8]] = []
        var start = 0
        var i = 0
        while i + separator.count <= all.count, out.count < limit - 1 {
            if all[i..<(i + separator.count)].elementsEqual(separator) {
                out.append(Array(all[start..<i]))
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        out.append(Array(all[start...]))
        return out
    }
}

/// Cuts `bytes` into consecutive chunks whose lengths come from `sizes` (cycled; 0 counts as
/// 1), to feed incremental parsers the way a socket or a file read would.
public func chunks(_ bytes: [UInt8], sizes: [UInt8]) -> [ArraySlice<UInt8>] {
    guard !sizes.isEmpty else { return bytes.isEmpty ? [] : [bytes[...]] }
    var out: [ArraySlice<UInt8>] = []
    var start = 0
    var k = 0
    while start < bytes.count {
        let size = max(1, Int(sizes[k % sizes.count]))
        let end = min(bytes.count, start + size)
        out.append(bytes[start..<end])
        start = end
        k += 1
    }
    return out
}
