internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// A failure reported by OpenSSL: what was being done and OpenSSL's reason, e.g.
/// `cert_file /etc/tls/server.pem: error:80000002:system library::No such file or directory`.
package struct OpenSSLError: Error, CustomStringConvertible, Sendable, Equatable {
    package var description: String

    package init(_ description: String) { self.description = description }

    /// `what: <OpenSSL's oldest queued reason>`, clearing OpenSSL's error queue.
    package static func last(_ what: String) -> OpenSSLError {
        OpenSSLError("\(what): \(OpenSSL.lastError())")
    }
}

/// Process-wide OpenSSL helpers shared by the HTTP client and the server transport.
package enum OpenSSL {
    /// The text of the oldest error queued on this thread (OpenSSL's queue is per thread), and
    /// clears the queue so that the next operation starts clean.
    package static func lastError() -> String {
        let code = ERR_get_error()
        defer { ERR_clear_error() }
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    package static func clearErrors() { ERR_clear_error() }

    /// OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a peer that went away must not
    /// kill the process with SIGPIPE. Called whenever a context is made (idempotent).
    package static func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }

    /// OpenSSL's text for an X509 verification result (e.g. "certificate has expired").
    static func verifyResultText(_ result: Int) -> String {
        String(cString: X509_verify_cert_error_string(result))
    }
}

/// The protocol versions a context may negotiate (TLS 1.2 is the oldest we speak).
package enum TLSProtocolVersion: Sendable, Equatable {
    case tls12
    case tls13

    var raw: Int32 {
        switch self {
        case .tls12: TLS1_2_VERSION
        case .tls13: TLS1_3_VERSION
        }
    }
}
