import Dispatch
import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import Transport

/// Runs a protocol session (HTTP/1.1 or HTTP/2) over a real `Connection` whose descriptor is
/// one end of a socket pair: bytes go straight into the session's `receive`, as the connection
/// hands them over after a read, and everything the session writes comes out of the other end.
///
/// This is `Connection.deliver` without the reactor: the session is chosen by the harness
/// instead of by the first bytes, and nothing waits on epoll, so one run is synchronous and
/// deterministic. Responses that handlers complete later (`queue.async`) are run by draining the
/// connection's queue after each chunk.
public enum ConnectionHarness {
    public enum SessionKind {
        case http1
        case http2
    }

    /// What a run produced.
    public struct Outcome {
        /// Every byte the session wrote to the peer.
        public var output: [UInt8] = []
    }

    private static let target = DispatchQueue(label: "fuzz.connection")

    /// Feeds `chunks` to a new session of `kind` on a connection served by `router`, then
    /// (with `endInput`) tells it the peer finished, and closes it.
    static func run(_ kind: SessionKind, router: any RequestRouter, chunks: [ArraySlice<UInt8>],
                           endInput: Bool) -> Outcome {
        var pair: [Int32] = [-1, -1]
        let made = pair.withUnsafeMutableBufferPointer {
            socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, $0.baseAddress)
        }
        require(made == 0, "socketpair failed: errno \(errno)")
        var size: Int32 = 4 << 20
        for fd in pair {
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let peer = pair[1]
        defer { close(peer) }
        // A budget of its own (bounded, so the fuzzer drives the busy refusals too).
        let connection = Connection(id: 1, fd: pair[0], remoteAddress: "192.0.2.1:40000", router: router,
                                    budget: RequestBudget(limit: 8 << 20), target: target, onClose: { _ in })
        var outcome = Outcome()
        let session: (any ProtocolSession)? = connection.queue.sync {
            switch kind {
            case .http1: return HTTP1Session(connection: connection)
            case .http2: return HTTP2Session(connection: connection)
            }
        }
        guard let session else {
            connection.queue.sync { connection.close() }
            return outcome
        }
        for (k, chunk) in chunks.enumerated() {
            connection.queue.sync {
                guard connection.phase == .open else { return }
                chunk.withUnsafeBytes { session.receive($0) }
            }
            // Answers queued by the handlers, and the pumps they schedule, run before the next
            // read; the output is collected now and then (the socket buffer holds megabytes).
            connection.queue.sync {}
            connection.queue.sync {}
            if k % 64 == 63 { read(peer, into: &outcome.output) }
        }
        settle(connection, peer, into: &outcome.output)
        if endInput {
            connection.queue.sync {
                if connection.phase == .open { session.inputEnded() }
            }
            settle(connection, peer, into: &outcome.output)
        }
        connection.queue.sync {
            session.connectionClosed()
            connection.close()
        }
        read(peer, into: &outcome.output)
        return outcome
    }

    /// Lets work the session queued for later (responses, pumps) run, reading the output.
    private static func settle(_ connection: Connection, _ peer: Int32, into output: inout [UInt8]) {
        for _ in 0..<4 {
            connection.queue.sync {}
            read(peer, into: &output)
        }
    }

    // nonisolated(unsafe): libFuzzer runs the target on one thread; allocated once, because
    // zeroing a fresh buffer per read was most of a run's time.
    nonisolated(unsafe) private static let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)

    private static func read(_ fd: Int32, into output: inout [UInt8]) {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            guard n > 0 else { return }
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}
