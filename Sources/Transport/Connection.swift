import Dispatch
import OpenSSLSupport
import SystemIO

/// One accepted TCP connection: a non-blocking socket whose readiness events (from the
/// ``Reactor``) run on the connection's own serial queue, plus the protocol session
/// (HTTP/1.1 or HTTP/2) chosen from the first bytes.
///
/// Reads go into a pooled buffer and straight to the session. Writes are attempted at once;
/// only when the socket would block is write-readiness requested, until the output drains.
/// Reading pauses (is not re-armed) while too much output is queued (a peer that does not
/// read cannot make us buffer without bound) or while the session asks (HTTP/1.1 pipelining
/// depth).
///
/// TLS (when the listener has a ``TLSServerContext``): the socket is read and written through
/// an OpenSSL stream. The handshake is driven by the same readiness events (a connection in
/// handshake counts as receiving a request head, so the header-read timeout bounds it); once
/// it completes, ALPN's "h2" or "http/1.1" picks the session, and without ALPN the first bytes
/// decide as for plain TCP. Reads fill the pooled buffer record by record before the session
/// sees it; bytes OpenSSL already holds are read without waiting for readiness. Without TLS
/// the stream is nil and the paths are those of plain TCP (one nil check).
///
/// Lifecycle: `start` -> open -> (`closeAfterFlush` -> [lingering]) -> closed. Closing
/// deregisters from the reactor, closes the descriptor and tells the owner via `onClose`,
/// synchronously. A "lingering" close half-closes our side and discards input for a moment
/// so that a peer still sending (e.g. a body refused with 413) reads our response instead of
/// getting a reset.
// @unchecked Sendable: every mutable property is touched only on `queue` (the methods called
// from other threads, `start`, `beginShutdown` and `forceClose`, just enqueue work there).
final class Connection: HTTP2OutputSink, @unchecked Sendable {
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
    /// Reads per readiness event before yielding to other connections.
    static let readsPerEvent = 8
    static let http2Preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    let id: UInt64
    let queue: DispatchQueue
    let remoteAddress: String
    let router: any RequestRouter
    let budget: RequestBudget
    let fd: Int32
    private let onClose: @Sendable (UInt64) -> Void
    /// The listener's TLS credentials at accept time; `start` makes the stream from their
    /// current context (off the listener's queue: that may re-read changed files).
    private let tlsCredentials: TLSServerContext?

    // Queue-confined state (the TLS parts are used by Connection+TLS.swift too).
    private var reactor: Reactor?
    private var token: UInt64 = 0
    /// What the reactor is armed for; nil once an event fired (one-shot) or before arming.
    private var armed: (read: Bool, write: Bool)?
    private var waitingForWritable = false
    private var inputClosed = false
    private var sessionPausedReading = false
    private var shutdownRequested = false
    var output = OutputQueue()
    private var session: (any ProtocolSession)?
    private var detectBuffer: [UInt8] = []
    /// The TLS stream (nil for plain TCP), and whether its handshake is still running.
    var tls: TLSStream?
    var handshaking = false
    /// OpenSSL asked to wait for writability before reading (or handshaking) again.
    var tlsReadWantsWrite = false
    /// A read is queued for bytes OpenSSL holds (readiness events cannot report them).
    var bufferedReadScheduled = false
    private(set) var phase: Phase = .open
    /// When bytes last arrived (monotonic ns), and since when the current request has been
    /// arriving (with the completed-request count then, so progress restarts the clock).
    var lastRead = DispatchTime.now().uptimeNanoseconds
    /// Times the session gave back idle memory (tests).
    private(set) var trims = 0
    private var receivingSince: (at: UInt64, completed: UInt64)?

    /// The counts of connections closed by each timeout, process-wide.
    static let idleTimeouts = TransportCounter()
    /// Idle this long, a session gives back memory kept for speed (HTTP/2: nghttp2's frame
    /// buffer pages). Clients that export every few seconds (the SDKs' batch processors send
    /// every 5 s) pay a page fault or two per request for it; busy ones pay nothing.
    static let trimAfterNanos: UInt64 = 1_000_000_000
    static let requestReadTimeouts = TransportCounter()
    static let tlsHandshakeFailures = TransportCounter()

    init(id: UInt64, fd: Int32, remoteAddress: String, router: any RequestRouter, budget: RequestBudget,
         tls: TLSServerContext? = nil, target: DispatchQueue, onClose: @escaping @Sendable (UInt64) -> Void) {
        self.id = id
        self.fd = fd
        self.tlsCredentials = tls
        self.remoteAddress = remoteAddress
        self.router = router
        self.budget = budget
        self.onClose = onClose
        self.queue = DispatchQueue(label: "transport.connection", target: target)
    }

    // MARK: - Entry points from other threads

    /// Registers with the reactor and begins reading. Call once, after the owner has
    /// registered the connection.
    func start() {
        queue.async { [self] in
            guard phase == .open, token == 0 else { return }
            do {
                if let tlsCredentials {
                    tls = try TLSStream(context: tlsCredentials.contextForNewConnection(), fd: fd, role: .server)
                    handshaking = true
                }
                let reactor = try Reactor.shared.get()
                token = try reactor.register(fd, queue: queue) { [self] events in handle(events) }
                self.reactor = reactor
            } catch {
                close()
                return
            }
            updateInterest()
        }
    }

    /// Graceful shutdown: the session finishes in-flight requests, then closes.
    func beginShutdown() {
        queue.async { [self] in
            guard !shutdownRequested else { return }
            shutdownRequested = true
            guard phase == .open else { return }
            if let session { session.beginShutdown() } else { close() }
            updateInterest()
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

    /// Applies the idle and request-read timeouts at `now` (monotonic ns; the server's sweep
    /// calls this about once a second). Safe from any thread.
    func checkTimeouts(now: UInt64) {
        queue.async { [self] in
            guard phase == .open else { return }
            let limits = router.limits
            let activity = activityNow
            let completed = session?.completedRequests ?? 0
            switch activity {
            case .busy:
                receivingSince = nil
            case .idle:
                receivingSince = nil
                let idleFor = now > lastRead ? now - lastRead : 0
                if idleFor > Self.trimAfterNanos, session?.trimIdleMemory() == true { trims += 1 }
                if idleFor > limits.idleTimeoutNanos {
                    Self.idleTimeouts.increment()
                    // Gracefully where the protocol allows: HTTP/2 says GOAWAY, so a client
                    // reconnects instead of losing a call sent as the socket closed.
                    if let session { session.beginShutdown() } else { close() }
                }
            case .receiving, .receivingHead:
                guard let since = receivingSince, since.completed == completed else {
                    receivingSince = (now, completed)
                    return
                }
                let timeout = activity == .receivingHead
                    ? min(limits.headerReadTimeoutNanos, limits.requestReadTimeoutNanos) : limits.requestReadTimeoutNanos
                if now > since.at, now - since.at > timeout {
                    Self.requestReadTimeouts.increment()
                    if handshaking { Self.tlsHandshakeFailures.increment() }
                    close()
                }
            }
        }
    }

    /// The session's activity (tests).
    var currentActivity: SessionActivity {
        queue.sync { activityNow }
    }

    /// Times the session gave back idle memory (tests).
    var currentTrims: Int {
        queue.sync { trims }
    }

    /// A TLS handshake in progress counts as a request head being received.
    private var activityNow: SessionActivity {
        session?.activity ?? (handshaking || !detectBuffer.isEmpty ? .receivingHead : .idle)
    }

    // MARK: - Used by sessions (on `queue`)

    /// Bytes queued and not yet written.
    var bufferedOutputBytes: Int { output.byteCount }

    /// Whether ``write(_:)`` still queues anything.
    var acceptsOutput: Bool { phase != .closed && phase != .lingering }

    /// Queues bytes; call ``flush()`` to write them.
    func write(_ bytes: [UInt8]) {
        guard phase != .closed, phase != .lingering else { return }
        output.append(bytes)
    }

    /// Writes queued output now, or waits for writability if the socket is full.
    func flush() {
        switch phase {
        case .open, .closingAfterFlush: break
        case .lingering, .closed: return
        }
        guard !waitingForWritable else { return }
        switch sendOutput() {
        case .drained:
            afterDrain()
        case .wouldBlock:
            waitingForWritable = true
            updateInterest()
        case .failed:
            close()
        }
    }

    /// Closes once queued output is written. With `linger`, half-closes and discards input
    /// briefly first (use after refusing a request whose body may still be arriving).
    func closeAfterFlush(linger: Bool) {
        guard phase == .open else { return }
        phase = .closingAfterFlush(linger: linger)
        flush()
        updateInterest()
    }

    /// The session's wish to stop reading (e.g. too many pipelined requests in flight).
    func setReadingPaused(_ paused: Bool) {
        guard sessionPausedReading != paused else { return }
        sessionPausedReading = paused
        updateInterest()
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
        if !handshaking { tls?.shutdown() }  // close_notify, best effort
        tls = nil
        if let reactor, token != 0 { reactor.deregister(fd, token: token) }
        reactor = nil
        Sys.close(fd)
        onClose(id)
    }

    // MARK: - Readiness

    private func handle(_ events: Reactor.Events) {
        guard phase != .closed else { return }
        armed = nil  // one-shot: the reactor disarmed the descriptor
        let wantsRead = wantsToRead
        if wantsRead && !events.isDisjoint(with: [.readable, .hangup, .error]) {
            handleReadable()
        }
        if waitingForWritable && phase != .closed && !events.isDisjoint(with: [.writable, .hangup, .error]) {
            handleWritable()
        }
        if tlsReadWantsWrite && phase != .closed && !events.isDisjoint(with: [.writable, .hangup, .error]) {
            tlsReadWantsWrite = false
            handleReadable()
        }
        if events.contains(.error) && !wantsRead && !waitingForWritable && !tlsReadWantsWrite {
            close()  // reset while idle-paused: nothing else will notice
        }
        updateInterest()
    }

    var wantsToRead: Bool {
        switch phase {
        case .open: !inputClosed && !sessionPausedReading && output.byteCount < Self.outputHighWater
        case .lingering: !inputClosed
        case .closingAfterFlush, .closed: false
        }
    }

    /// Re-arms the reactor for what is wanted now (no-op if already armed that way).
    func updateInterest() {
        guard phase != .closed, let reactor, token != 0 else { return }
        let read = wantsToRead
        let write = waitingForWritable || tlsReadWantsWrite
        if read, let tls { scheduleBufferedRead(tls) }
        if let armed, armed.read == read && armed.write == write { return }
        if armed == nil && !read && !write { return }  // stay disarmed while paused
        do {
            try reactor.arm(fd, token: token, read: read, write: write)
            armed = (read, write)
        } catch {
            close()
        }
    }

    func handleReadable() {
        if let tls, phase != .lingering {
            readTLS(tls)
            return
        }
        ReadBufferPool.shared.withBuffer { buffer in
            for _ in 0..<Self.readsPerEvent {
                guard phase != .closed, wantsToRead else { return }
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
                lastRead = DispatchTime.now().uptimeNanoseconds
                if phase == .open {
                    deliver(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                }
                if count < buffer.count { return }
            }
        }
    }

    func handleEndOfInput() {
        inputClosed = true
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
        switch sendOutput() {
        case .drained:
            waitingForWritable = false
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
                tls?.shutdown()
                Sys.shutdownWrite(fd)
                phase = .lingering
                updateInterest()
                queue.asyncAfter(deadline: .now() + Self.lingerTime) { [weak self] in self?.close() }
            } else {
                close()
            }
        case .open:
            updateInterest()
        case .lingering, .closed:
            break
        }
    }

    /// Hands bytes to the session, choosing HTTP/2 if the connection opens with the h2c
    /// client preface and HTTP/1.x otherwise.
    func deliver(_ bytes: UnsafeRawBufferPointer) {
        if let session {
            session.receive(bytes)
            return
        }
        if let alpn = tls?.negotiatedProtocol {
            startSession(http2: alpn == "h2", bytes)
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
