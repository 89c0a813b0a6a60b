#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// An error raised by the transport layer: a failed system call, a listener that could not be
/// opened, or an endpoint that could not be parsed or resolved.
///
/// The description names what failed, e.g. `listen 0.0.0.0:4317: Address already in use` or
/// `accept4: Too many open files`. New kinds may be added without breaking callers: match on
/// ``code`` or read ``errno``.
public struct TransportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A stable classification of the failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A system call failed (``TransportError/errno`` tells why).
        public static let systemCall = Code("systemCall")
        /// Binding or listening on an endpoint failed.
        public static let listen = Code("listen")
        /// An endpoint string could not be parsed.
        public static let invalidEndpoint = Code("invalidEndpoint")
        /// A host name could not be resolved.
        public static let resolve = Code("resolve")
        /// The server was used in a state that does not allow the operation.
        public static let invalidState = Code("invalidState")
        public var description: String { name }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The `errno` value for failures of system calls, if any.
    public let errno: Int32?
    /// A human-readable message naming the failed operation.
    public let description: String

    init(code: Code, errno: Int32? = nil, description: String) {
        self.code = code
        self.errno = errno
        self.description = description
    }

    /// A failed system call, described as ``SystemError`` does ("`call`: strerror(errno)"):
    /// the one place where the transport's errors come from the system layer.
    init(_ error: SystemError) {
        self.init(code: .systemCall, errno: error.errno, description: error.description)
    }

    /// Runs `body`, turning its ``SystemError`` into a `TransportError`.
    @discardableResult
    static func io<R>(_ body: () throws(SystemError) -> R) throws(TransportError) -> R {
        do throws(SystemError) { return try body() } catch { throw TransportError(error) }
    }

    /// A failed system call that has no ``SystemError`` (a function looked up at run time).
    static func systemCall(_ call: String, errno: Int32) -> TransportError {
        TransportError(SystemError(call: call, errno: errno))
    }

    /// A failed listen on an endpoint: "listen `endpoint`: strerror(errno)".
    static func listen(_ endpoint: Endpoint, errno: Int32) -> TransportError {
        TransportError(code: .listen, errno: errno, description: "listen \(endpoint): \(SystemError.message(errno))")
    }

    static func invalidEndpoint(_ text: String, _ reason: String) -> TransportError {
        TransportError(code: .invalidEndpoint, description: "invalid endpoint \"\(text)\": \(reason)")
    }

    static func invalidState(_ message: String) -> TransportError {
        TransportError(code: .invalidState, description: message)
    }
}

/// Decodes a NUL-terminated C character array as UTF-8.
func cString(_ chars: [CChar]) -> String {
    let bytes = chars.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
