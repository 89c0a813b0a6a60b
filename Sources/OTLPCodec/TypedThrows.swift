/// Helpers to keep typed throws (`throws(OTLPDecodeError)`) through standard-library APIs
/// whose closures are `rethrows` (and so would widen the error to `any Error`).

/// Runs `body`, capturing its typed error in a `Result`.
@inline(__always)
func capture<R, E: Error>(_ body: () throws(E) -> R) -> Result<R, E> {
    do throws(E) {
        return .success(try body())
    } catch {
        return .failure(error)
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` with a typed-throwing body (shared by every module on the wire format).
    @inline(__always)
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { raw in capture { () throws(E) in try body(raw) } }.get()
    }
}
