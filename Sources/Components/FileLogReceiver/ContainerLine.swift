/// One line of a container runtime's log file, parsed.
///
/// CRI (containerd, CRI-O): `<RFC3339Nano time> <stdout|stderr> <P|F>[:more tags] <message>`;
/// `P` marks a partial line continued by the next line of the same stream.
/// Docker json-file: `{"log":"message\n","stream":"stdout","time":"<RFC3339Nano>"}`; a `log`
/// without its trailing newline is a partial (docker splits lines at 16 KiB).
struct ContainerLine {
    var time: UInt64
    var stream: String
    var partial: Bool
    var message: [UInt8]

    static func cri(_ line: [UInt8]) -> ContainerLine? {
        guard let s1 = line.firstIndex(of: 0x20) else { return nil }
        guard let time = TimestampParser.parse(line[..<s1]) else { return nil }
        let rest = line[(s1 + 1)...]
        guard let s2 = rest.firstIndex(of: 0x20) else { return nil }
        let stream = String(decoding: rest[..<s2], as: UTF8.self)
        guard stream == "stdout" || stream == "stderr" else { return nil }
        let rest2 = line[(s2 + 1)...]
        let s3 = rest2.firstIndex(of: 0x20) ?? line.endIndex
        let tags = rest2[..<s3]
        guard let first = tags.first, first == UInt8(ascii: "P") || first == UInt8(ascii: "F") else { return nil }
        let message = s3 < line.endIndex ? Array(line[(s3 + 1)...]) : []
        return ContainerLine(time: time, stream: stream, partial: first == UInt8(ascii: "P"), message: message)
    }

    static func docker(_ line: [UInt8]) -> ContainerLine? {
        guard let json = MiniJSON.parse(line), let log = json["log"]?.string else { return nil }
        var message = Array(log.utf8)
        let partial = message.last != 0x0a
        if !partial {
            message.removeLast()
            if message.last == 0x0d { message.removeLast() }
        }
        let time = json["time"]?.string.flatMap { TimestampParser.parse(Array($0.utf8)) } ?? 0
        return ContainerLine(time: time, stream: json["stream"]?.string ?? "stdout", partial: partial, message: message)
    }
}
