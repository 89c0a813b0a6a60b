import Buffers
#if canImport(Glibc)
import Glibc
#endif

/// Why a request was refused while parsing. ``status`` is the response to send (400, 413, 417,
/// 431, 501) before closing the connection.
struct HTTP1ParseError: Error, Equatable, Sendable {
    let status: Int
    let reason: String

    /// Not from the parser: the session refuses a request whose bytes the budget cannot hold.
    static let busy = HTTP1ParseError(status: 503, reason: "server busy")
}

/// A strict, incremental HTTP/1.x request parser: bytes in, complete requests out.
///
/// A pure value type with no I/O, fed whatever the socket produced (one byte or a megabyte at
/// a time); it never buffers more than one incomplete head or chunk-size line, and copies body
/// bytes once, straight into the request body. Bounds are checked before bytes are kept:
/// header bytes and count (431), body size (413, from `Content-Length` before reading any of
/// the body, or chunk by chunk). Ambiguous framing (both `Content-Length` and
/// `Transfer-Encoding`, repeated `Content-Length`), invalid chunk sizes, obs-fold, bad request
/// lines, bare LF and versions other than HTTP/1.0 and 1.1 yield 400. After an error the
/// parser is dead: the caller answers with the error status and closes.
struct HTTP1Parser {
    enum Event: Equatable {
        /// A complete request; `keepAlive` says whether the connection may be reused after it.
        case request(HTTPRequest, keepAlive: Bool)
        /// The head asked for `Expect: 100-continue` and a body is coming: send 100 Continue.
        case expectContinue
        /// A protocol violation; answer with `status` and close.
        case error(HTTP1ParseError)
    }

    enum State: Equatable {
        case head(scanned: Int)
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case trailers(bytes: Int)
        case failed
    }

    /// Limits read at the start of each request (may be changed between feeds).
    var limits: HTTPServerLimits
    /// Copied into every request.
    var remoteAddress: String

    private(set) var state: State = .head(scanned: 0)
    /// Bytes received but not yet consumed: only ever a partial head or chunk line.
    private var pending: [UInt8] = []
    /// The request whose head is parsed and whose body is in progress (set by `parseHead`).
    var head: HTTPRequest?
    private var body: [UInt8] = []
    /// Whether the connection may be reused after the current request (set by `parseHead`).
    var keepAlive = true

    /// A fixed-length body at least this large, arriving in pieces, gets its buffer from
    /// `bodyPool` at its declared length.
    static let pooledBodyBytes = 64 << 10
    /// The longest chunk-size line (with extensions) accepted.
    static let maxChunkLineBytes = 4096
    private let bodyPool: PayloadPool

    init(limits: HTTPServerLimits = HTTPServerLimits(), remoteAddress: String = "", bodyPool: PayloadPool = .shared) {
        self.limits = limits
        self.remoteAddress = remoteAddress
        self.bodyPool = bodyPool
    }

    /// True between requests with nothing buffered (a close now loses no request).
    var isIdle: Bool { state == .head(scanned: 0) && pending.isEmpty }

    /// True while a request head has begun but not ended.
    var isReadingHead: Bool {
        if case .head = state { return !isIdle }
        return false
    }

    /// Bytes kept for the request in progress: its body so far and any partial line.
    var unfinishedBytes: Int { body.count + pending.count }

    /// Gives up on the request in progress (the caller answers and closes): drops what is
    /// kept and ignores all further input.
    mutating func abandon() {
        state = .failed
        head = nil
        body = []
        pending = []
    }

    /// Parses `input` and returns what it completed, in order. Returns nothing once failed.
    mutating func feed(_ input: UnsafeRawBufferPointer) -> [Event] {
        var events: [Event] = []
        guard state != .failed, input.count > 0 else { return events }
        if pending.isEmpty {
            let used = process(input, &events)
            if state != .failed && used < input.count {
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[used...]))
            }
        } else {
            var buffered = pending
            pending = []
            buffered.append(contentsOf: input)
            let used = buffered.withUnsafeBytes { process($0, &events) }
            if state != .failed && used < buffered.count {
                buffered.removeFirst(used)
                pending = buffered
            }
        }
        if state == .failed { pending = [] }
        return events
    }

    /// Convenience for tests and callers holding arrays.
    mutating func feed(_ input: [UInt8]) -> [Event] {
        input.withUnsafeBytes { feed($0) }
    }

    // MARK: - State machine

    /// Consumes as much of `view` as forms complete tokens; returns the count consumed.
    private mutating func process(_ view: UnsafeRawBufferPointer, _ events: inout [Event]) -> Int {
        var pos = 0
        while pos < view.count {
            switch state {
            case .failed:
                return view.count
            case .head(let scanned):
                if scanned == 0 {
                    // Tolerate empty lines before a request line (RFC 9112 section 2.2).
                    while pos + 1 < view.count && view[pos] == 0x0D && view[pos + 1] == 0x0A { pos += 2 }
                    if pos >= view.count { return pos }
                    // A CR alone may be the first half of an empty line: wait for the next byte
                    // (deciding now made the parse depend on where a read ended).
                    if pos + 1 == view.count && view[pos] == 0x0D { return pos }
                }
                var bareLF = false
                let headEnd = findHeadEnd(view, from: pos, scanned: scanned, bareLF: &bareLF)
                if bareLF {
                    // Answered at once (it used to wait for a CRLFCRLF that never comes): a
                    // line ended by LF alone is refused, as a smuggling precaution.
                    return fail(400, "request head line ended by a bare LF (CRLF required)", &events)
                }
                guard let end = headEnd else {
                    let available = view.count - pos
                    if available > limits.maxHeaderBytes {
                        return fail(431, "request head larger than \(limits.maxHeaderBytes) bytes", &events)
                    }
                    if let error = Self.checkRequestLinePrefix(UnsafeRawBufferPointer(rebasing: view[pos...])) {
                        return fail(error, &events)
                    }
                    state = .head(scanned: available)
                    return pos
                }
                if end - pos > limits.maxHeaderBytes {
                    return fail(431, "request head larger than \(limits.maxHeaderBytes) bytes", &events)
                }
                // Parse everything up to (not including) the blank line's CRLF.
                let headBytes = UnsafeRawBufferPointer(rebasing: view[pos..<(end - 2)])
                pos = end
                switch parseHead(headBytes) {
                case .failure(let error):
                    return fail(error, &events)
                case .success(let framing):
                    if framing.expectContinue { events.append(.expectContinue) }
                    switch framing.length {
                    case .none: emit(&events)
                    case .fixed(let count):
                        // No capacity reserved yet: a client that declares a length and sends
                        // nothing holds nothing (see `.body`).
                        state = .body(remaining: count)
                    case .chunked: state = .chunkSize
                    }
                }
            case .body(let remaining):
                let take = min(remaining, view.count - pos)
                if body.isEmpty, take < remaining, remaining >= Self.pooledBodyBytes {
                    // The first bytes of a large body that arrives in pieces: one buffer of the
                    // declared length from the pool (a body is kept by reference in its batch
                    // and given back once exported), instead of regrowing it chunk by chunk
                    // into fresh pages.
                    body = bodyPool.take(capacity: remaining)
                }
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: view[pos..<(pos + take)]))
                pos += take
                if take == remaining { emit(&events) } else { state = .body(remaining: remaining - take) }
            case .chunkSize:
                guard let lineEnd = findLineEnd(view, from: pos, limit: Self.maxChunkLineBytes) else {
                    if view.count - pos > Self.maxChunkLineBytes {
                        return fail(400, "chunk size line too long", &events)
                    }
                    return pos
                }
                guard lineEnd.valid, let size = Self.parseChunkSize(UnsafeRawBufferPointer(rebasing: view[pos..<lineEnd.contentEnd])) else {
                    return fail(400, "invalid chunk size", &events)
                }
                pos = lineEnd.next
                if size == 0 {
                    state = .trailers(bytes: 0)
                } else if size > limits.maxBodyBytes - body.count {
                    return fail(413, "body larger than \(limits.maxBodyBytes) bytes", &events)
                } else {
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let take = min(remaining, view.count - pos)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: view[pos..<(pos + take)]))
                pos += take
                state = take == remaining ? .chunkEnd : .chunkData(remaining: remaining - take)
            case .chunkEnd:
                guard view.count - pos >= 2 else { 
                    if view[pos] != 0x0D { return fail(400, "missing CRLF after chunk data", &events) }
                    return pos
                }
                guard view[pos] == 0x0D && view[pos + 1] == 0x0A else {
                    return fail(400, "missing CRLF after chunk data", &events)
                }
                pos += 2
                state = .chunkSize
            case .trailers(let bytes):
                guard let lineEnd = findLineEnd(view, from: pos, limit: limits.maxHeaderBytes) else {
                    if bytes + view.count - pos > limits.maxHeaderBytes {
                        return fail(431, "trailer section too large", &events)
                    }
                    return pos
                }
                guard lineEnd.valid else { return fail(400, "bare LF in trailer section", &events) }
                let line = UnsafeRawBufferPointer(rebasing: view[pos..<lineEnd.contentEnd])
                let total = bytes + lineEnd.next - pos
                pos = lineEnd.next
                if line.isEmpty {
                    emit(&events)
                } else if total > limits.maxHeaderBytes {
                    return fail(431, "trailer section too large", &events)
                } else if case .failure(let error) = Self.parseField(line) {
                    return fail(error, &events)
                } else {
                    state = .trailers(bytes: total)  // trailer fields are validated, then dropped
                }
            }
        }
        return pos
    }

    private mutating func emit(_ events: inout [Event]) {
        guard var request = head else { return }
        head = nil
        request.body = body
        body = []
        events.append(.request(request, keepAlive: keepAlive))
        state = .head(scanned: 0)
    }

    private mutating func fail(_ status: Int, _ reason: String, _ events: inout [Event]) -> Int {
        fail(HTTP1ParseError(status: status, reason: reason), &events)
    }

    private mutating func fail(_ error: HTTP1ParseError, _ events: inout [Event]) -> Int {
        state = .failed
        head = nil
        body = []
        events.append(.error(error))
        return Int.max
    }

    // MARK: - Scanning

    /// Index just past the `CRLFCRLF` ending the head, searching only bytes not seen before;
    /// `bareLF` is set (and nil returned) when a line of the head ends with LF alone.
    private func findHeadEnd(_ view: UnsafeRawBufferPointer, from start: Int, scanned: Int, bareLF: inout Bool) -> Int? {
        guard let base = view.baseAddress else { return nil }
        var index = start + max(0, scanned - 3)
        while index < view.count {
            guard let hit = memchr(base + index, 0x0A, view.count - index) else { return nil }
            let lf = base.distance(to: UnsafeRawPointer(hit))
            if lf == start || view[lf - 1] != 0x0D {
                bareLF = true
                return nil
            }
            if lf - start >= 3 && view[lf - 2] == 0x0A && view[lf - 3] == 0x0D {
                return lf + 1
            }
            index = lf + 1
        }
        return nil
    }

    /// Finds the next line ending at or after `start`. `valid` is false for a bare LF.
    private func findLineEnd(_ view: UnsafeRawBufferPointer, from start: Int, limit: Int)
        -> (contentEnd: Int, next: Int, valid: Bool)?
    {
        guard let base = view.baseAddress, start < view.count else { return nil }
        let span = min(view.count - start, limit + 2)
        guard let hit = memchr(base + start, 0x0A, span) else { return nil }
        let lf = base.distance(to: UnsafeRawPointer(hit))
        let valid = lf > start && view[lf - 1] == 0x0D
        return (valid ? lf - 1 : lf, lf + 1, valid)
    }

    /// `1*HEXDIG [BWS ";" extensions]`, at most 15 digits; nil if malformed.
    static func parseChunkSize(_ line: UnsafeRawBufferPointer) -> Int? {
        var size = 0
        var digits = 0
        var index = 0
        while index < line.count, let value = hexValue(line[index]) {
            size = size << 4 | value
            digits += 1
            index += 1
            if digits > 15 { return nil }
        }
        guard digits > 0 else { return nil }
        while index < line.count && (line[index] == 0x20 || line[index] == 0x09) { index += 1 }
        if index == line.count { return size }
        guard line[index] == 0x3B else { return nil }  // ';'
        for byte in line[(index + 1)...] where (byte < 0x20 && byte != 0x09) || byte == 0x7F {
            return nil
        }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case 0x41...0x46: Int(byte - 0x41 + 10)
        case 0x61...0x66: Int(byte - 0x61 + 10)
        default: nil
        }
    }
}
