internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// One TLS connection over a connected non-blocking socket (an OpenSSL `SSL` reading and
/// writing the descriptor itself). Every operation returns at once: when the socket is not
/// ready it says which readiness to wait for, and the caller retries the same call then
/// (a retried write passes the same bytes; they may have moved).
///
/// The stream never closes the descriptor: its owner does, after ``shutdown()``.
// @unchecked Sendable: used by one owner at a time (a server connection's serial queue, or a
// client request that took it from the pool under the pool's lock); OpenSSL allows an `SSL` to
// move between threads when it is never used concurrently. Freed in `deinit`.
package final class TLSStream: @unchecked Sendable {
    package enum IO: Equatable {
        /// Bytes read or written (0 for a completed handshake).
        case done(Int)
        /// Retry when the socket is readable.
        case wantRead
        /// Retry when the socket is writable.
        case wantWrite
        /// The peer closed the stream (close_notify or end of input).
        case closed
        /// A fatal error: the stream must not be used again (not even for ``shutdown()``).
        case failed(String)
    }

    private let ssl: OpaquePointer
    private var shutDown = false
    private var broken = false

    /// A stream on `fd` from `context`: the client side connects, the server side accepts.
    package init(context: SSLContext, fd: Int32, role: SSLContext.Role) throws(OpenSSLError) {
        OpenSSL.clearErrors()
        guard let ssl = SSL_new(context.pointer) else { throw OpenSSLError.last("SSL_new") }
        self.ssl = ssl
        guard SSL_set_fd(ssl, fd) == 1 else { throw OpenSSLError.last("SSL_set_fd") }
        if role == .client { SSL_set_connect_state(ssl) } else { SSL_set_accept_state(ssl) }
    }

    deinit { SSL_free(ssl) }

    /// Client side, before the handshake: sends SNI for a host name (not for an IP address,
    /// RFC 6066) and, when `verify`, requires the server's certificate to name `serverName`.
    package func expect(serverName: String, verify: Bool) {
        serverName.withCString { name in
            if !Self.isIPAddress(serverName) { _ = collector_SSL_set_tlsext_host_name(ssl, name) }
            if verify { _ = SSL_set1_host(ssl, name) }
        }
    }

    /// Advances the handshake; `.done(0)` once it is complete.
    package func handshake() -> IO {
        OpenSSL.clearErrors()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return .done(0) }
        let outcome = classify(rc)
        if case .failed(let why) = outcome {
            let verification = SSL_get_verify_result(ssl)
            if verification != X509_V_OK {
                return .failed("certificate verification failed: \(OpenSSL.verifyResultText(verification))")
            }
            return .failed(why)
        }
        return outcome
    }

    package func read(_ buffer: UnsafeMutableRawBufferPointer) -> IO {
        OpenSSL.clearErrors()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        return n > 0 ? .done(Int(n)) : classify(n)
    }

    package func write(_ bytes: UnsafeRawBufferPointer) -> IO {
        OpenSSL.clearErrors()
        let n = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
        return n > 0 ? .done(Int(n)) : classify(n)
    }

    /// Decrypted or raw bytes already inside OpenSSL (socket readiness cannot see them).
    package var hasBufferedInput: Bool { SSL_pending(ssl) > 0 || SSL_has_pending(ssl) == 1 }

    /// The protocol chosen by ALPN ("h2", "http/1.1"), or nil.
    package var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The peer certificate's subject ("/CN=collectord test"), if it sent one.
    package var peerSubject: String? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard X509_NAME_oneline(X509_get_subject_name(certificate), &buffer, Int32(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The negotiated protocol version ("TLSv1.3").
    package var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// Sends close_notify (once, best effort, never after a fatal error); call while the
    /// descriptor is still open.
    package func shutdown() {
        guard !shutDown, !broken else { return }
        shutDown = true
        OpenSSL.clearErrors()
        _ = SSL_shutdown(ssl)
        OpenSSL.clearErrors()
    }

    private func classify(_ rc: Int32) -> IO {
        let reason = SSL_get_error(ssl, rc)
        switch reason {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            broken = true
            return errno == 0 ? .closed : .failed(String(cString: strerror(errno)))
        default:
            broken = true
            return .failed(OpenSSL.lastError())
        }
    }

    package static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
