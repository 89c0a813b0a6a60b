/// Bounds applied to every request. Reading is bounded by these before anything is buffered.
public struct HTTPServerLimits: Sendable, Equatable {
    /// Maximum bytes of the request head (request line + header fields) -> 431.
    public var maxHeaderBytes: Int
    /// Maximum number of header fields -> 431.
    public var maxHeaderCount: Int
    /// Maximum body bytes after de-chunking -> 413 (checked before reading the body when the
    /// length is declared, otherwise as it arrives).
    public var maxBodyBytes: Int

    public init(maxHeaderBytes: Int = 64 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 20 * 1024 * 1024) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }
}
