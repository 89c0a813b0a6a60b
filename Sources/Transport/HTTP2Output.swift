internal import CNghttp2

/// Where an nghttp2 session's frames go: a server ``Connection`` or a client's ``ClientSocket``.
/// Used on the owner's queue.
protocol HTTP2OutputSink: AnyObject {
    /// Bytes queued and not yet written.
    var bufferedOutputBytes: Int { get }
    /// False once the sink is closed or closing: nothing more is written.
    var acceptsOutput: Bool { get }
    /// Queues bytes; ``flush()`` writes them.
    func write(_ bytes: [UInt8])
    func flush()
}

/// Moving an nghttp2 session's output to a socket, shared by the server and client sessions.
enum HTTP2Output {
    /// Stop pulling frames from nghttp2 while this much output is queued (the sink says when it
    /// drained, and the owner pumps again).
    static let highWater = 1024 * 1024
    /// Frames are concatenated into writes of about this size.
    static let batchBytes = 64 * 1024

    /// Pulls frames from `session` into `sink` until nghttp2 has nothing more to send or
    /// ``highWater`` bytes wait in the sink, then flushes. Returns nghttp2's error code when
    /// `nghttp2_session_mem_send` fails (the session is unusable), else nil.
    static func pump(_ session: OpaquePointer, into sink: some HTTP2OutputSink) -> Int? {
        var batch: [UInt8] = []
        while sink.acceptsOutput {
            if sink.bufferedOutputBytes + batch.count >= highWater {
                if !batch.isEmpty { sink.write(batch) }
                batch = []
                sink.flush()
                if !sink.acceptsOutput || sink.bufferedOutputBytes >= highWater { return nil }
            }
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 { return count }
            guard count > 0, let data else { break }
            if batch.isEmpty { batch.reserveCapacity(Swift.max(count, batchBytes)) }
            batch.append(contentsOf: UnsafeBufferPointer(start: data, count: count))
            if batch.count >= batchBytes {
                sink.write(batch)
                batch = []
            }
        }
        if !batch.isEmpty { sink.write(batch) }
        sink.flush()
        return nil
    }
}
