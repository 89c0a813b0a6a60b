import Dispatch

/// One accepted TCP connection: a non-blocking socket driven by Dispatch sources on the
/// connection's own serial queue, plus the protocol session (HTTP/1.1 or HTTP/2) chosen from
/// the first bytes.
///
/// Reads go through a `DispatchSourceRead` into a pooled buffer and straight to the session.
/// Writes are attempted immediately; only when the socket would block is a
/// `DispatchSourceWrite` created/armed, and it is disarmed again once the output drains.
/// Reading pauses while too much output is queued (a peer that does not read cannot make us
/// buffer without bound) or while the session asks (HTTP/1.1 pipelining depth).
///
/// Lifecycle: `start` -> open -> (`closeAfterFlush` -> [lingering]) -> closed. Closing cancels
/// both sources; the descriptor is closed in the last cancel handler, then the owner is told
/// via `onClose`. A "lingering" close half-closes our side and discards input for a moment so
/// that a peer still sending (e.g. a body we refused with 413) reads our response instead of
/// getting a reset.
// @unchecked Sendable: every mutable property is touched only on `queue` (the methods called
// from other threads, `start`, `beginShutdown` and `forceClose`, just enqueue work there).
final class Connection: @unchecked Sendable {
    enum Phase: Equatable {
        case open
        case closingAfterFlush(linger: Bool)
        case lingering
        case closed
    }

    /// Reading pauses above this many queued output bytes and resumes when drained.
    static let outputHighWater = 4 * 1024 * 1024
    /// How long a lingering close waits for the peer to stop sending.
    static let lingerTime: DispatchTimeInterval = .seconds(2)
    static let http2Preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    let id: UInt64
    let queue: DispatchQueue
    let remoteAddress: String
    let router: any RequestRouter
    private let fd: Int32
    private let onClose: @Sendable (UInt64) -> Void

    // Queue-confined state.
    private var readSource: (any DispatchSourceRead)?
    private var writeSource: (any DispatchSourceWrite)?
    private var readSuspended = false
    private var writeArmed = false
    private var openSources = 0
    private var inputClosed = false
    private var sessionPausedReading = false
    private var shutdownRequested = false
    private var output = OutputQueue()
    private var session: (any ProtocolSession)?
    private var detectBuffer: [UInt8] = []
    private(set) var phase: Phase = .open

    init(id: UInt64, fd: Int32, remoteAddress: String, router: any RequestRouter, target: DispatchQueue,
         onClose: @escaping @Sendable (UInt64) -> Void) {
        self.id = id
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.router = router
        self.onClose = onClose
        self.queue = DispatchQueue(label: "transport.connection", target: target)
    }

    // MARK: - Entry points from other threads

    /// Begins reading. Call once, after the owner has registered the connection.
    func start() {
        queue.async { [self] in
            guard phase == .open, readSource == nil else { return }
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [self] in handleReadable() }
            source.setCancelHandler { [self] in sourceCancelled() }
            readSource = source
            openSources += 1
            source.activate()
        }
    }

    /// Graceful shutdown: the session finishes in-flight requests, then closes.
    func beginShutdown() {
        queue.async { [self] in
            guard !shutdownRequested else { return }
            shutdownRequested = true
            guard phase == .open else { return }
            if let session { session.beginShutdown() } else { close() }
        }
    }

    /// Deadline reached: close now (HTTP/2 sends GOAWAY first, best effort).
    func forceClose() {
        queue.async { [self] in
            guard phase != .closed else { return }
            session?.forceClose()
            close()
        }
    }

    // MARK: - Used by sessions (on `queue`)

    /// Bytes queued and not yet written.
    var bufferedOutputBytes: Int { output.byteCount }

    /// Queues bytes; call ``flush()`` to write them.
    func write(_ bytes: [UInt8]) {
        guard phase != .closed, phase != .lingering else { return }
        output.append(bytes)
    }

    /// Writes queued output now, or arms the write source if the socket is full.
    func flush() {
        switch phase {
        case .open, .closingAfterFlush: break
        case .lingering, .closed: return
        }
        guard !writeArmed else { return }
        switch output.send(to: fd) {
        case .drained: afterDrain()
        case .wouldBlock:
            armWriteSource()
            updateReadInterest()
        case .failed: close()
        }
    }

    /// Closes once queued output is written. With `linger`, half-closes and discards input
    /// briefly first (use after refusing a request whose body may still be arriving).
    func closeAfterFlush(linger: Bool) {
        guard phase == .open else { return }
        phase = .closingAfterFlush(linger: linger)
        updateReadInterest()
        flush()
    }

    /// The session's wish to stop reading (e.g. too many pipelined requests in flight).
    func setReadingPaused(_ paused: Bool) {
        guard sessionPausedReading != paused else { return }
        sessionPausedReading = paused
        updateReadInterest()
    }

    /// Closes immediately, dropping queued output. Idempotent.
    func close() {
        guard phase != .closed else { return }
        phase = .closed
        let current = session
        session = nil
        current?.connectionClosed()
        output.removeAll()
        detectBuffer = []
        if let source = readSource {
            source.cancel()
            if readSuspended { source.resume() }
            readSuspended = false
        }
        if let source = writeSource {
            source.cancel()
            if !writeArmed { source.resume() }
            writeArmed = true
        }
        if openSources == 0 { finishClose() }
    }

    // MARK: - Internals

    private func sourceCancelled() {
        openSources -= 1
        if openSources == 0 && phase == .closed { finishClose() }
    }

    private func finishClose() {
        readSource = nil
        writeSource = nil
        Sys.close(fd)
        onClose(id)
    }

    private func handleReadable() {
        ReadBufferPool.shared.withBuffer { buffer in
            for _ in 0..<8 {
                guard phase != .closed, !readSuspended else { return }
                let count: Int?
                do { count = try Sys.read(fd, into: buffer) } catch {
                    close()
                    return
                }
                guard let count else { return }
                if count == 0 {
                    handleEndOfInput()
                    return
                }
                if phase == .open {
                    deliver(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                }
                if count < buffer.count { return }
            }
        }
    }

    private func handleEndOfInput() {
        inputClosed = true
        updateReadInterest()
        switch phase {
        case .open:
            if let session { session.inputEnded() } else { close() }
        case .lingering:
            close()
        case .closingAfterFlush, .closed:
            break
        }
    }

    private func handleWritable() {
        guard phase != .closed else { return }
        switch output.send(to: fd) {
        case .drained:
            if writeArmed, let source = writeSource {
                source.suspend()
                writeArmed = false
            }
            afterDrain()
            if phase == .open { session?.outputDrained() }
        case .wouldBlock:
            break
        case .failed:
            close()
        }
    }

    private func afterDrain() {
        switch phase {
        case .closingAfterFlush(let linger):
            if linger && !inputClosed {
                Sys.shutdownWrite(fd)
                phase = .lingering
                updateReadInterest()
                queue.asyncAfter(deadline: .now() + Self.lingerTime) { [weak self] in self?.close() }
            } else {
                close()
            }
        case .open:
            updateReadInterest()
        case .lingering, .closed:
            break
        }
    }

    private func armWriteSource() {
        if let source = writeSource {
            if !writeArmed {
                source.resume()
                writeArmed = true
            }
            return
        }
        let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [self] in handleWritable() }
        source.setCancelHandler { [self] in sourceCancelled() }
        writeSource = source
        openSources += 1
        writeArmed = true
        source.activate()
    }

    private func updateReadInterest() {
        guard let source = readSource else { return }
        let wanted: Bool
        switch phase {
        case .open: wanted = !inputClosed && !sessionPausedReading && output.byteCount < Self.outputHighWater
        case .lingering: wanted = !inputClosed
        case .closingAfterFlush, .closed: wanted = false
        }
        if wanted && readSuspended {
            source.resume()
            readSuspended = false
        } else if !wanted && !readSuspended {
            source.suspend()
            readSuspended = true
        }
    }

    /// Hands bytes to the session, choosing HTTP/2 if the connection opens with the h2c
    /// client preface and HTTP/1.x otherwise.
    private func deliver(_ bytes: UnsafeRawBufferPointer) {
        if let session {
            session.receive(bytes)
            return
        }
        let preface = Self.http2Preface
        if detectBuffer.isEmpty && bytes.count >= preface.count {
            startSession(http2: bytes.prefix(preface.count).elementsEqual(preface), bytes)
            return
        }
        detectBuffer.append(contentsOf: bytes)
        let known = min(detectBuffer.count, preface.count)
        let matches = detectBuffer.prefix(known).elementsEqual(preface.prefix(known))
        if matches && known < preface.count { return }
        let buffered = detectBuffer
        detectBuffer = []
        buffered.withUnsafeBytes { startSession(http2: matches, $0) }
    }

    private func startSession(http2: Bool, _ bytes: UnsafeRawBufferPointer) {
        let created: any ProtocolSession
        if http2 {
            guard let h2 = HTTP2Session(connection: self) else {
                close()
                return
            }
            created = h2
        } else {
            created = HTTP1Session(connection: self)
        }
        session = created
        created.receive(bytes)
        if shutdownRequested && phase == .open { created.beginShutdown() }
    }
}
