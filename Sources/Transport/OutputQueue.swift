import OpenSSLSupport
import SystemIO

/// Bytes waiting to be written to a socket, in order.
///
/// Chunks are kept as they were handed over (a response head and a multi-megabyte body are
/// two chunks; nothing is concatenated). A value type, confined to its connection's queue.
struct OutputQueue {
    enum SendResult {
        /// Everything queued was written.
        case drained
        /// The socket buffer is full; wait for writability.
        case wouldBlock
        /// The connection is broken (reset, closed by the peer).
        case failed
    }

    private var chunks: [[UInt8]] = []
    /// Index of the first chunk not fully written.
    private var first = 0
    /// Bytes of `chunks[first]` already written.
    private var offset = 0
    /// Bytes queued and not yet written.
    private(set) var byteCount = 0

    var isEmpty: Bool { byteCount == 0 }

    mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        chunks.append(bytes)
        byteCount += bytes.count
    }

    mutating func removeAll() {
        chunks = []
        first = 0
        offset = 0
        byteCount = 0
    }

    /// Writes as much as the socket accepts without blocking.
    mutating func send(to fd: Int32) -> SendResult {
        send { bytes, more in try Sys.send(fd, bytes, more: more) }
    }

    /// Writes as much as the TLS stream accepts without blocking. A write that OpenSSL could
    /// not finish is retried with the same bytes (the chunk's unsent rest), as it requires.
    mutating func send(through tls: TLSStream) -> SendResult {
        send { bytes, _ in
            switch tls.write(bytes) {
            case .done(let count): return count
            case .wantWrite: return nil
            // No renegotiation is allowed, so a write never waits for a read.
            case .wantRead, .closed, .failed: throw TLSWriteFailed()
            }
        }
    }

    private struct TLSWriteFailed: Error {}

    /// `write` sends bytes (with a hint that more follow) and returns the count written, nil
    /// when it would block, or throws when the connection is broken.
    private mutating func send(_ write: (UnsafeRawBufferPointer, _ more: Bool) throws -> Int?) -> SendResult {
        while first < chunks.count {
            let more = first + 1 < chunks.count
            let result: Int?
            do {
                result = try chunks[first].withUnsafeBytes { all in
                    try write(UnsafeRawBufferPointer(rebasing: all[offset...]), more)
                }
            } catch {
                return .failed
            }
            guard let sent = result else { return .wouldBlock }
            byteCount -= sent
            offset += sent
            if offset == chunks[first].count {
                chunks[first] = []
                first += 1
                offset = 0
            }
        }
        chunks.removeAll(keepingCapacity: true)
        first = 0
        return .drained
    }
}
