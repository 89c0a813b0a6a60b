import Dispatch
import OpenSSLSupport

/// The TLS side of ``Connection`` (see its design note): the handshake and reads through
/// OpenSSL, writes through it, and reads of bytes OpenSSL already holds. On the queue.
extension Connection {
    /// Reads through TLS: finishes the handshake first, then fills the pooled buffer record by
    /// record (up to its size, or until OpenSSL needs the socket) before handing it on.
    func readTLS(_ tls: TLSStream) {
        if handshaking {
            switch tls.handshake() {
            case .done:
                handshaking = false
            case .wantRead:
                return
            case .wantWrite:
                tlsReadWantsWrite = true
                return
            case .closed:
                close()  // gone before finishing (a port probe): not counted as a failure
                return
            case .failed:
                Self.tlsHandshakeFailures.increment()
                close()
                return
            }
        }
        ReadBufferPool.shared.withBuffer { buffer in
            for _ in 0..<Self.readsPerEvent {
                guard phase != .closed, wantsToRead else { return }
                var filled = 0
                var ended = false
                var wait = false
                filling: while filled < buffer.count {
                    switch tls.read(UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])) {
                    case .done(let count): filled += count
                    case .wantRead: wait = true; break filling
                    case .wantWrite: tlsReadWantsWrite = true; wait = true; break filling
                    case .closed: ended = true; break filling
                    case .failed:
                        close()
                        return
                    }
                }
                if filled > 0 {
                    lastRead = DispatchTime.now().uptimeNanoseconds
                    if phase == .open { deliver(UnsafeRawBufferPointer(rebasing: buffer[..<filled])) }
                }
                if ended {
                    if phase != .closed { handleEndOfInput() }
                    return
                }
                if wait { return }
            }
        }
    }

    /// Writes queued output to the socket, through TLS when there is a stream.
    func sendOutput() -> OutputQueue.SendResult {
        guard let tls else { return output.send(to: fd) }
        return output.send(through: tls)
    }

    /// Bytes inside OpenSSL get no readiness event: read them soon (once per wait).
    func scheduleBufferedRead(_ tls: TLSStream) {
        guard phase != .lingering, !bufferedReadScheduled, tls.hasBufferedInput else { return }
        bufferedReadScheduled = true
        queue.async { [self] in
            bufferedReadScheduled = false
            guard phase != .closed, wantsToRead else { return }
            handleReadable()
            updateInterest()
        }
    }
}
