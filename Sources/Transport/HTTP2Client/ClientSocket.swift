import Dispatch
import OpenSSLSupport
import SystemIO
#if canImport(Glibc)
import Glibc
#endif

/// What a ``ClientSocket`` reports to its owner, on the socket's queue.
protocol ClientSocketDelegate: AnyObject {
    /// TCP is connected and, with TLS, the handshake is done and ALPN chose "h2".
    func socketConnected()
    /// Bytes arrived. Only valid during the call.
    func socketReceived(_ bytes: UnsafeRawBufferPointer)
    /// Output that had backed up has been written completely.
    func socketDrained()
    /// The socket is closed (by either side, or failed to connect); called exactly once.
    func socketClosed(_ error: HTTP2ClientError)
}

/// One outgoing TCP connection, optionally TLS, on the shared ``Reactor``: the client-side
/// mirror of the server's ``Connection``, without a thread of its own.
///
/// Design: `open` resolves the host off the queue (getaddrinfo blocks), then connects each
/// address in turn with a non-blocking `connect`, waiting for writability; with TLS the
/// handshake runs on readiness events too and must end with ALPN "h2". Then reads go
/// straight to the delegate (up to ``readsPerEvent`` per event; a full batch schedules the next
/// read at once, which also covers bytes OpenSSL holds that readiness cannot see). Writes are
/// queued in an ``OutputQueue`` and written at once; only a full socket arms for writability.
/// Interest is one-shot and re-armed at the end of each event, as the reactor requires.
///
/// Lifecycle: resolving -> connecting -> [handshaking] -> open -> [closingAfterFlush] -> closed.
/// Closing deregisters, closes the descriptor and reports ``ClientSocketDelegate/socketClosed(_:)``
/// once, with the reason.
// @unchecked Sendable: every mutable property is touched only on `queue`; the reactor handler
// and the resolver's completion only enqueue work there.
final class ClientSocket: HTTP2OutputSink, @unchecked Sendable {
    /// The OpenSSL context and what the server's certificate must name.
    struct TLSSetup: Sendable {
        let context: SSLContext
        let serverName: String
        let verify: Bool
    }

    enum Phase: Equatable {
        case resolving, connecting, handshaking, open, closingAfterFlush, closed
    }

    static let readsPerEvent = 16

    let queue: DispatchQueue
    let endpoint: Endpoint
    private let tlsSetup: TLSSetup?
    weak var delegate: (any ClientSocketDelegate)?

    private(set) var phase: Phase = .resolving
    private var fd: Int32 = -1
    private var reactor: Reactor?
    private var token: UInt64 = 0
    private var armed: (read: Bool, write: Bool)?
    private var waitingForWritable = false
    /// OpenSSL waits for writability before it can read (or handshake) again.
    private var tlsWantsWrite = false
    private var tls: TLSStream?
    private var output = OutputQueue()
    private var addresses: [(family: Int32, storage: sockaddr_storage, length: socklen_t)] = []
    private var lastConnectError = "no usable address"
    private var closeReason: HTTP2ClientError?

    init(queue: DispatchQueue, endpoint: Endpoint, tls: TLSSetup?) {
        self.queue = queue
        self.endpoint = endpoint
        self.tlsSetup = tls
    }

    /// Dropped without `close` (its client went away): the descriptor is still released.
    deinit { closeDescriptor() }

    /// Resolves and connects; the outcome arrives through the delegate. Call once, on the queue.
    func open() {
        let endpoint = endpoint
        DispatchQueue.global().async { [self] in
            let result = Result { try SocketAddress.resolve(endpoint, passive: false) }
            queue.async { [self] in
                guard phase == .resolving else { return }
                switch result {
                case .success(let list):
                    addresses = list
                    connectNext()
                case .failure(let error):
                    close(HTTP2ClientError(.resolve, "\(error)", notProcessed: true))
                }
            }
        }
    }

    var isOpen: Bool { phase == .open }

    var acceptsOutput: Bool { phase == .open }

    /// Bytes queued and not yet written.
    var bufferedOutputBytes: Int { output.byteCount }

    /// Queues bytes; ``flush()`` writes them.
    func write(_ bytes: [UInt8]) {
        guard phase == .open else { return }
        output.append(bytes)
    }

    /// Writes what is queued, or waits for writability when the socket is full.
    func flush() {
        guard phase == .open || phase == .closingAfterFlush, !waitingForWritable else { return }
        switch send() {
        case .drained:
            if phase == .closingAfterFlush { close(closeReason!) }
        case .wouldBlock:
            waitingForWritable = true
            updateInterest()
        case .failed:
            close(HTTP2ClientError(.connectionClosed, "connection to \(endpoint) broke while sending"))
        }
    }

    /// Closes once the queued output is written; `reason` is what the delegate is told.
    func closeAfterFlush(_ reason: HTTP2ClientError) {
        guard phase == .open else {
            close(reason)
            return
        }
        phase = .closingAfterFlush
        closeReason = reason
        flush()
    }

    /// Closes now, dropping queued output. Idempotent; the delegate hears of the first call.
    func close(_ reason: HTTP2ClientError) {
        guard phase != .closed else { return }
        let wasOpen = phase == .open || phase == .closingAfterFlush
        phase = .closed
        output.removeAll()
        if wasOpen { tls?.shutdown() }  // close_notify, best effort
        tls = nil
        closeDescriptor()
        addresses = []
        delegate?.socketClosed(reason)
    }

    // MARK: - Connecting

    private func connectNext() {
        guard !addresses.isEmpty else {
            close(HTTP2ClientError(.connect, "cannot connect to \(endpoint): \(lastConnectError)", notProcessed: true))
            return
        }
        let address = addresses.removeFirst()
        do throws(SystemError) {
            fd = try Sys.socket(family: address.family)
            try? Sys.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, label: "TCP_NODELAY")
            var storage = address.storage
            let rc = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, address.length) }
            }
            if rc != 0 && errno != EINPROGRESS && errno != EINTR {
                lastConnectError = SystemError.message(errno)
                closeDescriptor()
                connectNext()
                return
            }
        } catch {
            lastConnectError = error.description
            closeDescriptor()
            connectNext()
            return
        }
        do {
            let reactor = try Reactor.shared.get()
            token = try reactor.register(fd, queue: queue) { [weak self] events in self?.handle(events) }
            self.reactor = reactor
        } catch {
            close(HTTP2ClientError(.connect, "cannot connect to \(endpoint): \(error)", notProcessed: true))
            return
        }
        phase = .connecting
        updateInterest()  // writable once connected (or failed)
    }

    private func connected() {
        guard let tlsSetup else {
            phase = .open
            delegate?.socketConnected()
            return
        }
        do {
            let stream = try TLSStream(context: tlsSetup.context, fd: fd, role: .client)
            stream.expect(serverName: tlsSetup.serverName, verify: tlsSetup.verify)
            tls = stream
        } catch {
            close(HTTP2ClientError(.tls, "TLS with \(endpoint): \(error)", notProcessed: true))
            return
        }
        phase = .handshaking
        handshake()
    }

    private func handshake() {
        guard let tls else { return }
        switch tls.handshake() {
        case .done:
            guard tls.negotiatedProtocol == "h2" else {
                let chosen = tls.negotiatedProtocol.map { "\"\($0)\"" } ?? "nothing"
                close(HTTP2ClientError(.tls, "TLS handshake with \(endpoint): the server chose \(chosen) with ALPN, not h2",
                                       notProcessed: true))
                return
            }
            phase = .open
            delegate?.socketConnected()
        case .wantRead:
            break
        case .wantWrite:
            tlsWantsWrite = true
        case .closed:
            close(HTTP2ClientError(.tls, "TLS handshake with \(endpoint): connection closed by the server", notProcessed: true))
        case .failed(let why):
            close(HTTP2ClientError(.tls, "TLS handshake with \(endpoint): \(why)", notProcessed: true))
        }
    }

    // MARK: - Readiness

    private func handle(_ events: Reactor.Events) {
        armed = nil  // one-shot: the reactor disarmed the descriptor
        switch phase {
        case .connecting:
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                lastConnectError = SystemError.message(error)
                closeDescriptor()
                connectNext()
                return
            }
            connected()
        case .handshaking:
            tlsWantsWrite = false
            handshake()
        case .open, .closingAfterFlush:
            if waitingForWritable && !events.isDisjoint(with: [.writable, .hangup, .error]) { handleWritable() }
            if phase == .open && (tlsWantsWrite || !events.isDisjoint(with: [.readable, .hangup, .error])) {
                tlsWantsWrite = false
                handleReadable()
            }
        case .resolving, .closed:
            return
        }
        updateInterest()
    }

    private func updateInterest() {
        guard phase != .closed, phase != .resolving, let reactor, token != 0 else { return }
        let read = phase == .open || (phase == .handshaking && !tlsWantsWrite)
        let write = phase == .connecting || waitingForWritable || tlsWantsWrite
        if let armed, armed.read == read && armed.write == write { return }
        if armed == nil && !read && !write { return }
        do {
            try reactor.arm(fd, token: token, read: read, write: write)
            armed = (read, write)
        } catch {
            close(HTTP2ClientError(.connectionClosed, "connection to \(endpoint): \(error)"))
        }
    }

    private func handleReadable() {
        let full: Bool = ReadBufferPool.shared.withBuffer { buffer in
            for _ in 0..<Self.readsPerEvent {
                guard phase == .open else { return false }
                guard let count = readOnce(into: buffer) else { return false }
                delegate?.socketReceived(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            }
            return true
        }
        if full {  // more may be waiting (in the socket or inside OpenSSL): read again soon
            queue.async { [self] in
                guard phase == .open else { return }
                handleReadable()
                updateInterest()
            }
        }
    }

    /// One read: the byte count, or nil when nothing is available (or the socket closed).
    private func readOnce(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        if let tls {
            switch tls.read(buffer) {
            case .done(let count): return count
            case .wantRead: return nil
            case .wantWrite: tlsWantsWrite = true; return nil
            case .closed: close(HTTP2ClientError(.connectionClosed, "connection closed by \(endpoint)"))
            case .failed(let why): close(HTTP2ClientError(.connectionClosed, "TLS read from \(endpoint): \(why)"))
            }
            return nil
        }
        do {
            guard let count = try Sys.read(fd, into: buffer) else { return nil }
            if count > 0 { return count }
            close(HTTP2ClientError(.connectionClosed, "connection closed by \(endpoint)"))
        } catch {
            close(HTTP2ClientError(.connectionClosed, "connection to \(endpoint): \(error)"))
        }
        return nil
    }

    private func handleWritable() {
        switch send() {
        case .drained:
            waitingForWritable = false
            if phase == .closingAfterFlush {
                close(closeReason!)
            } else {
                delegate?.socketDrained()
            }
        case .wouldBlock:
            break
        case .failed:
            close(HTTP2ClientError(.connectionClosed, "connection to \(endpoint) broke while sending"))
        }
    }

    private func send() -> OutputQueue.SendResult {
        if let tls { return output.send(through: tls) }
        return output.send(to: fd)
    }

    private func closeDescriptor() {
        if let reactor, token != 0 { reactor.deregister(fd, token: token) }
        reactor = nil
        token = 0
        armed = nil
        waitingForWritable = false
        tlsWantsWrite = false
        if fd >= 0 { Sys.close(fd) }
        fd = -1
    }
}
