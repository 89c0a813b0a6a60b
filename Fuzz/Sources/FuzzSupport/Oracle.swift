/// A property that must hold for every input. When it does not, the process stops with the
/// message (libFuzzer keeps the input as a crash), in release builds too.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        fatalError("fuzz oracle failed: \(message())", file: file, line: line)
    }
}

/// A short printable picture of `bytes` for oracle messages.
public func describe(_ bytes: some Collection<UInt8>, limit: Int = 64) -> String {
    let hex = bytes.prefix(limit).map { b -> String in
        let digits = Array("0123456789abcdef")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }.joined()
    return "\(bytes.count) bytes \(hex)\(bytes.count > limit ? "..." : "")"
}
