internal import COpenSSL
import Glibc

/// TLS for `https://` Loki endpoints (OpenSSL), with the OTel Collector's client settings:
/// `tls.ca_file` (else the system's trust store), `tls.cert_file` + `tls.key_file` (client
/// certificate), `tls.insecure_skip_verify`, `tls.server_name_override`. TLS 1.2 at least; the
/// server's certificate must chain to a trusted CA and name the host (unless skipped).
///
/// `@unchecked Sendable`: the `SSL_CTX` is configured once in `init` and only read afterwards
/// (creating `SSL` objects from it is thread-safe in OpenSSL 1.1+), and freed in `deinit`.
final class LokiTLSContext: @unchecked Sendable {
    private let context: OpaquePointer
    let serverName: String
    let verify: Bool

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(settings: LokiTLSSettings, host: String) throws(Failure) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw Failure(description: "SSL_CTX_new: \(Self.lastError())") }
        context = ctx
        serverName = settings.serverNameOverride ?? host
        verify = !settings.insecureSkipVerify
        SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        // SSL_OP_IGNORE_UNEXPECTED_EOF (a function-like macro, 1 << 7): a server that closes
        // without close_notify ends the response (read as end of input), as with plain HTTP,
        // instead of failing the push.
        SSL_CTX_set_options(ctx, 1 << 7)
        if let ca = settings.caFile {
            guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1 else {
                throw Failure(description: "tls.ca_file \(ca): \(Self.lastError())")
            }
        } else if SSL_CTX_set_default_verify_paths(ctx) != 1 {
            throw Failure(description: "cannot load the system's CA certificates: \(Self.lastError())")
        }
        if let cert = settings.certFile, let key = settings.keyFile {
            guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else {
                throw Failure(description: "tls.cert_file \(cert): \(Self.lastError())")
            }
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                throw Failure(description: "tls.key_file \(key): \(Self.lastError())")
            }
        }
        SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        // OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a peer that closed a kept-alive
        // connection must not kill the process with SIGPIPE (collectord ignores it too).
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { SSL_CTX_free(context) }

    /// A TLS session over the connected non-blocking socket `fd`, handshaken before `deadline`.
    func connect(fd: Int32, deadline: Int64, wait: (Int32, Int16, Int64) -> String?) -> Result<LokiTLSSession, Failure> {
        guard let ssl = SSL_new(context) else { return .failure(Failure(description: "SSL_new: \(Self.lastError())")) }
        let session = LokiTLSSession(ssl: ssl)
        SSL_set_fd(ssl, fd)
        serverName.withCString { name in
            _ = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: name))
            if verify { _ = SSL_set1_host(ssl, name) }
        }
        while true {
            ERR_clear_error()
            let rc = SSL_connect(ssl)
            if rc == 1 { return .success(session) }
            let why = SSL_get_error(ssl, rc)
            if why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE {
                if let failure = wait(fd, Int16(why == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), deadline) {
                    return .failure(Failure(description: "TLS handshake: \(failure)"))
                }
                continue
            }
            let result = SSL_get_verify_result(ssl)
            if result != X509_V_OK {
                return .failure(Failure(description: "TLS handshake: certificate verification failed: \(String(cString: X509_verify_cert_error_string(result)))"))
            }
            return .failure(Failure(description: "TLS handshake: \(Self.lastError())"))
        }
    }

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// One TLS connection. `@unchecked Sendable`: it is used by one push at a time; between pushes
/// it waits in `LokiConnectionPool`, which hands it to exactly one taker under its lock
/// (OpenSSL allows an `SSL` to move between threads when it is never used concurrently).
final class LokiTLSSession: @unchecked Sendable {
    let ssl: OpaquePointer

    private var shutDown = false

    init(ssl: OpaquePointer) { self.ssl = ssl }

    /// Sends close_notify (once); call while the descriptor is still open: `deinit` does no I/O,
    /// because by then the descriptor number may belong to another file.
    func shutdown() {
        guard !shutDown else { return }
        shutDown = true
        SSL_shutdown(ssl)
    }

    deinit { SSL_free(ssl) }

    enum IO {
        case done(Int)
        /// Wait for the socket to become readable (`POLLIN`) or writable (`POLLOUT`).
        case wait(Int16)
        case closed
        case failed(String)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> IO {
        ERR_clear_error()
        let n = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
        return n > 0 ? .done(Int(n)) : classify(n)
    }

    func read(_ buffer: UnsafeMutableRawBufferPointer) -> IO {
        ERR_clear_error()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        return n > 0 ? .done(Int(n)) : classify(n)
    }

    private func classify(_ rc: Int32) -> IO {
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: .wait(Int16(POLLIN))
        case SSL_ERROR_WANT_WRITE: .wait(Int16(POLLOUT))
        case SSL_ERROR_ZERO_RETURN: .closed
        case SSL_ERROR_SYSCALL where errno == 0: .closed
        default: .failed(LokiTLSContext.lastError())
        }
    }
}

/// The `tls` section of the loki exporter.
public struct LokiTLSSettings: Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var insecureSkipVerify = false
    public var serverNameOverride: String?
    public init() {}
}
