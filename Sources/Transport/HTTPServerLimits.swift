/// Bounds applied to every request. Reading is bounded by these before anything is buffered.
public struct HTTPServerLimits: Sendable, Equatable {
    /// Maximum bytes of the request head (request line + header fields) -> 431.
    public var maxHeaderBytes: Int
    /// Maximum number of header fields -> 431.
    public var maxHeaderCount: Int
    /// Maximum body bytes after de-chunking -> 413 (checked before reading the body when the
    /// length is declared, otherwise as it arrives).
    public var maxBodyBytes: Int
    /// A connection with nothing in flight and nothing received for this long is closed.
    public var idleTimeoutNanos: UInt64
    /// A request (head and body) must arrive within this long of its first byte, however
    /// slowly its bytes trickle in (slowloris), else the connection is closed.
    public var requestReadTimeoutNanos: UInt64

    public init(maxHeaderBytes: Int = 64 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 20 * 1024 * 1024,
                idleTimeoutNanos: UInt64 = 60_000_000_000, requestReadTimeoutNanos: UInt64 = 60_000_000_000) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.idleTimeoutNanos = idleTimeoutNanos
        self.requestReadTimeoutNanos = requestReadTimeoutNanos
    }
}
