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
    /// A request head must arrive within this long of its first byte, else the connection is
    /// closed (confighttp's `read_header_timeout`).
    public var headerReadTimeoutNanos: UInt64
    /// HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: streams a client may have open on one
    /// connection at once (nghttp2 refuses the extra ones with REFUSED_STREAM). Read when a
    /// connection starts.
    public var maxConcurrentStreams: Int
    /// Body bytes of unfinished requests one connection may hold at once (HTTP/2 streams in
    /// progress); a stream that would pass it is refused as busy (503 / UNAVAILABLE).
    public var maxConnectionPendingBytes: Int

    public static let defaultMaxConcurrentStreams = 100
    public static let defaultMaxConnectionPendingBytes = 32 * 1024 * 1024

    public init(maxHeaderBytes: Int = 64 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 20 * 1024 * 1024,
                idleTimeoutNanos: UInt64 = 60_000_000_000, requestReadTimeoutNanos: UInt64 = 60_000_000_000,
                headerReadTimeoutNanos: UInt64 = 60_000_000_000,
                maxConcurrentStreams: Int = HTTPServerLimits.defaultMaxConcurrentStreams,
                maxConnectionPendingBytes: Int = HTTPServerLimits.defaultMaxConnectionPendingBytes) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.idleTimeoutNanos = idleTimeoutNanos
        self.requestReadTimeoutNanos = requestReadTimeoutNanos
        self.headerReadTimeoutNanos = headerReadTimeoutNanos
        self.maxConcurrentStreams = maxConcurrentStreams
        self.maxConnectionPendingBytes = maxConnectionPendingBytes
    }
}
