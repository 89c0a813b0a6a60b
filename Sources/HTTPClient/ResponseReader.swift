/// The status line and header fields of an answer.
public struct HTTPResponseHead: Sendable {
    public var status: Int
    /// "HTTP/1.1" or "HTTP/1.0".
    public var version: String
    /// In order, names as the server sent them.
    public var headers: [(name: String, value: String)]

    public init(status: Int, version: String = "HTTP/1.1", headers: [(name: String, value: String)] = []) {
        self.status = status
        self.version = version
        self.headers = headers
    }

    /// The first field named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// An HTTP/1.x response parser fed the bytes as they arrive: the head (interim 1xx answers
/// skipped), then a body framed by `Content-Length`, chunked encoding (extensions and trailers
/// ignored) or the end of the connection. Body bytes are handed out as they are decoded, so a
/// streamed answer (a Kubernetes watch) never has to be held whole. Pure, tested without sockets.
struct ResponseReader {
    private enum State {
        case head
        case length(Int)
        case chunkSize
        case chunkData(Int)
        case chunkEnd
        case trailers
        case untilClose
        case complete
    }

    private var state = State.head
    private var pending: [UInt8] = []
    private var position = 0
    private(set) var head: HTTPResponseHead?
    /// The request was HEAD: the answer has no body whatever it says.
    let bodiless: Bool
    let maxHeadBytes: Int

    init(bodiless: Bool = false, maxHeadBytes: Int = 64 * 1024) {
        self.bodiless = bodiless
        self.maxHeadBytes = maxHeadBytes
    }

    var isComplete: Bool { if case .complete = state { true } else { false } }

    /// Bytes received after the complete answer (a well-behaved server sends none).
    var leftover: Int { pending.count - position }

    /// True once complete when the connection may carry another request: HTTP/1.1, no
    /// `Connection: close`, framed by length or chunks (not by the end), nothing extra.
    var keepsConnection: Bool {
        guard isComplete, let head, head.version == "HTTP/1.1", leftover == 0 else { return false }
        if head.header("Connection")?.lowercased().contains("close") == true { return false }
        return !endsAtClose
    }

    private var endsAtClose = false

    /// Takes `bytes`, calling `body` with each piece of decoded body. Returns true once the
    /// answer is complete.
    mutating func feed(_ bytes: some Collection<UInt8>, head onHead: (HTTPResponseHead) -> Void = { _ in },
                       body: (ArraySlice<UInt8>) -> Void) throws(HTTPClientError) -> Bool {
        if position > 0 && position == pending.count {
            pending.removeAll(keepingCapacity: true)
            position = 0
        } else if position > 64 * 1024 && position * 2 > pending.count {
            pending.removeFirst(position)
            position = 0
        }
        pending.append(contentsOf: bytes)
        try advance(onHead, body)
        return isComplete
    }

    /// The connection ended: completes an answer framed by the end, else fails.
    mutating func finish(body: (ArraySlice<UInt8>) -> Void) throws(HTTPClientError) {
        switch state {
        case .complete: return
        case .untilClose:
            state = .complete
        case .head:
            if pending.isEmpty && head == nil {
                throw HTTPClientError(.closed, "connection closed before an answer")
            }
            throw HTTPClientError(.closed, "connection closed in the middle of the answer's head", answered: true)
        default:
            throw HTTPClientError(.closed, "connection closed before the answer's body was complete", answered: true)
        }
    }

    private mutating func advance(_ onHead: (HTTPResponseHead) -> Void, _ body: (ArraySlice<UInt8>) -> Void) throws(HTTPClientError) {
        while true {
            switch state {
            case .complete:
                return
            case .head:
                guard let end = find([13, 10, 13, 10], from: position) else {
                    if pending.count - position > maxHeadBytes {
                        throw HTTPClientError(.tooLarge, "the answer's head is over \(maxHeadBytes) bytes", answered: true)
                    }
                    return
                }
                let parsed = try parseHead(pending[position..<end])
                position = end + 4
                if (100..<200).contains(parsed.status) && parsed.status != 101 { continue }   // interim answer
                head = parsed
                state = try framing(parsed)
                if case .untilClose = state { endsAtClose = true }
                onHead(parsed)
            case .length(let left):
                guard let rest = hand(left, body) else { return }
                state = rest == 0 ? .complete : .length(rest)
            case .chunkSize:
                guard let end = find([13, 10], from: position) else {
                    if pending.count - position > 4096 { throw malformed("chunk size line over 4096 bytes") }
                    return
                }
                let line = pending[position..<end].prefix { $0 != UInt8(ascii: ";") }
                let digits = String(decoding: line, as: UTF8.self).trimmingCharacters(in: " \t")
                guard !digits.isEmpty, digits.count <= 15, let size = Int(digits, radix: 16), size >= 0 else {
                    throw malformed("bad chunk size \"\(digits.prefix(20))\"")
                }
                position = end + 2
                state = size == 0 ? .trailers : .chunkData(size)
            case .chunkData(let left):
                guard let rest = hand(left, body) else { return }
                state = rest == 0 ? .chunkEnd : .chunkData(rest)
            case .chunkEnd:
                guard pending.count - position >= 2 else { return }
                guard pending[position] == 13 && pending[position + 1] == 10 else { throw malformed("chunk not followed by CRLF") }
                position += 2
                state = .chunkSize
            case .trailers:
                guard let end = find([13, 10], from: position) else {
                    if pending.count - position > maxHeadBytes { throw malformed("trailers over \(maxHeadBytes) bytes") }
                    return
                }
                state = end == position ? .complete : .trailers
                position = end + 2
            case .untilClose:
                if pending.count > position { body(pending[position...]) }
                position = pending.count
                return
            }
        }
    }

    /// Hands `body` what is there of the next `left` body bytes; the bytes still to come, or
    /// nil when nothing was there.
    private mutating func hand(_ left: Int, _ body: (ArraySlice<UInt8>) -> Void) -> Int? {
        let n = min(left, pending.count - position)
        guard n > 0 else { return nil }
        body(pending[position..<position + n])
        position += n
        return left - n
    }

    private func framing(_ head: HTTPResponseHead) throws(HTTPClientError) -> State {
        if bodiless || head.status == 204 || head.status == 304 || (100..<200).contains(head.status) { return .complete }
        if let encoding = head.header("Transfer-Encoding") {
            guard encoding.lowercased().split(separator: ",").last?.trimmingCharacters(in: " \t") == "chunked" else {
                throw malformed("unsupported Transfer-Encoding \"\(encoding)\"")
            }
            return .chunkSize
        }
        if let text = head.header("Content-Length") {
            guard let length = Int(text.trimmingCharacters(in: " \t")), length >= 0 else { throw malformed("bad Content-Length \"\(text)\"") }
            return length == 0 ? .complete : .length(length)
        }
        return .untilClose
    }

    private func parseHead(_ bytes: ArraySlice<UInt8>) throws(HTTPClientError) -> HTTPResponseHead {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0", parts[1].count == 3,
              let status = Int(parts[1]) else {
            throw malformed("bad status line \"\(statusLine.prefix(60))\"")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw malformed("bad header line \"\(line.prefix(60))\"")
            }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: " \t")))
        }
        return HTTPResponseHead(status: status, version: String(parts[0]), headers: headers)
    }

    private func find(_ needle: [UInt8], from start: Int) -> Int? {
        guard pending.count >= needle.count else { return nil }
        var i = start
        let last = pending.count - needle.count
        while i <= last {
            if pending[i] == needle[0] {
                var match = true
                for k in 1..<needle.count where pending[i + k] != needle[k] { match = false; break }
                if match { return i }
            }
            i += 1
        }
        return nil
    }

    private func malformed(_ reason: String) -> HTTPClientError {
        HTTPClientError(.malformedResponse, "malformed HTTP response: \(reason)", answered: true)
    }
}

extension StringProtocol {
    /// Without leading and trailing characters from `set` (a few ASCII characters).
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
