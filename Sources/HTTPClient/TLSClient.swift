internal import COpenSSL
import Glibc

/// A client's TLS settings, with the OTel Collector's names: `ca_file` (else the system's
/// trust store), `cert_file` + `key_file` (client certificate), `insecure_skip_verify`,
/// `server_name_override`. The `...PEM` fields carry the same material in memory (a
/// kubeconfig's `certificate-authority-data`, `client-certificate-data`, `client-key-data`)
/// and are used when the matching file is not set.
public struct TLSClientSettings: Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var caPEM: [UInt8]?
    public var certPEM: [UInt8]?
    public var keyPEM: [UInt8]?
    public var insecureSkipVerify = false
    public var serverNameOverride: String?
    public init() {}
}

/// An OpenSSL client context built from `TLSClientSettings`: TLS 1.2 at least; the server's
/// certificate must chain to a trusted CA and name the host (unless verification is skipped).
///
/// `@unchecked Sendable`: the `SSL_CTX` is configured once in `init` and only read afterwards
/// (creating `SSL` objects from it is thread-safe in OpenSSL 1.1+), and freed in `deinit`.
public final class TLSClientContext: @unchecked Sendable {
    private let context: OpaquePointer
    let serverName: String
    let verify: Bool

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(settings: TLSClientSettings, host: String) throws(Failure) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw Failure(description: "SSL_CTX_new: \(Self.lastError())") }
        context = ctx
        serverName = settings.serverNameOverride ?? host
        verify = !settings.insecureSkipVerify
        SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        // SSL_OP_IGNORE_UNEXPECTED_EOF (a function-like macro, 1 << 7): a server that closes
        // without close_notify ends the response (read as end of input), as with plain HTTP.
        SSL_CTX_set_options(ctx, 1 << 7)
        if let ca = settings.caFile {
            guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1 else {
                throw Failure(description: "tls.ca_file \(ca): \(Self.lastError())")
            }
        } else if let pem = settings.caPEM {
            try Self.addCertificates(pem, to: ctx)
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
        } else if let cert = settings.certPEM, let key = settings.keyPEM {
            try Self.useIdentity(certificate: cert, key: key, in: ctx)
        }
        SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        // OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a peer that closed a kept-alive
        // connection must not kill the process with SIGPIPE (collectord ignores it too).
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { SSL_CTX_free(context) }

    /// Every certificate in `pem` becomes a trusted CA.
    private static func addCertificates(_ pem: [UInt8], to ctx: OpaquePointer) throws(Failure) {
        let failure: String? = pem.withUnsafeBytes { raw -> String? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return "BIO_new_mem_buf failed" }
            defer { BIO_free(bio) }
            let store = SSL_CTX_get_cert_store(ctx)
            var added = 0
            while let cert = PEM_read_bio_X509(bio, nil, nil, nil) {
                defer { X509_free(cert) }
                guard X509_STORE_add_cert(store, cert) == 1 else { return "adding a CA certificate: \(lastError())" }
                added += 1
            }
            ERR_clear_error()   // the end of the data reads as an error
            return added == 0 ? "no PEM certificate in the CA data" : nil
        }
        if let failure { throw Failure(description: "certificate authority: \(failure)") }
    }

    /// The client certificate (chain: the first is the leaf) and its private key, from PEM.
    private static func useIdentity(certificate: [UInt8], key: [UInt8], in ctx: OpaquePointer) throws(Failure) {
        let failure: String? = certificate.withUnsafeBytes { raw -> String? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return "BIO_new_mem_buf failed" }
            defer { BIO_free(bio) }
            guard let leaf = PEM_read_bio_X509(bio, nil, nil, nil) else { return "no PEM certificate: \(lastError())" }
            defer { X509_free(leaf) }
            guard SSL_CTX_use_certificate(ctx, leaf) == 1 else { return lastError() }
            while let extra = PEM_read_bio_X509(bio, nil, nil, nil) {
                // SSL_CTX_add_extra_chain_cert (a macro) takes ownership of the certificate.
                if SSL_CTX_ctrl(ctx, SSL_CTRL_EXTRA_CHAIN_CERT, 0, UnsafeMutableRawPointer(extra)) != 1 {
                    X509_free(extra)
                    return lastError()
                }
            }
            ERR_clear_error()
            return nil
        }
        if let failure { throw Failure(description: "client certificate: \(failure)") }
        let keyFailure: String? = key.withUnsafeBytes { raw -> String? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return "BIO_new_mem_buf failed" }
            defer { BIO_free(bio) }
            guard let pkey = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else { return "no PEM private key: \(lastError())" }
            defer { EVP_PKEY_free(pkey) }
            guard SSL_CTX_use_PrivateKey(ctx, pkey) == 1, SSL_CTX_check_private_key(ctx) == 1 else { return lastError() }
            return nil
        }
        if let keyFailure { throw Failure(description: "client key: \(keyFailure)") }
    }

    /// A TLS session over the connected non-blocking socket `fd`, handshaken before `deadline`.
    func connect(fd: Int32, wait: (Int16) -> HTTPClientError?) -> Result<TLSSession, HTTPClientError> {
        guard let ssl = SSL_new(context) else { return .failure(HTTPClientError(.tls, "SSL_new: \(Self.lastError())")) }
        let session = TLSSession(ssl: ssl)
        SSL_set_fd(ssl, fd)
        serverName.withCString { name in
            // No SNI for an IP address (RFC 6066), but the certificate must still name it.
            if !Self.isIPAddress(serverName) {
                _ = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: name))
            }
            if verify { _ = SSL_set1_host(ssl, name) }
        }
        while true {
            ERR_clear_error()
            let rc = SSL_connect(ssl)
            if rc == 1 { return .success(session) }
            let why = SSL_get_error(ssl, rc)
            if why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE {
                if var failure = wait(Int16(why == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)) {
                    failure.message = "TLS handshake: \(failure.message)"
                    return .failure(failure)
                }
                continue
            }
            let result = SSL_get_verify_result(ssl)
            if result != X509_V_OK {
                return .failure(HTTPClientError(.tls, "TLS handshake: certificate verification failed: \(String(cString: X509_verify_cert_error_string(result)))"))
            }
            return .failure(HTTPClientError(.tls, "TLS handshake: \(Self.lastError())"))
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// One TLS connection. `@unchecked Sendable`: it is used by one request at a time; between
/// requests it waits in the client's pool, which hands it to exactly one taker under its lock
/// (OpenSSL allows an `SSL` to move between threads when it is never used concurrently).
final class TLSSession: @unchecked Sendable {
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

    /// Decrypted bytes already buffered inside OpenSSL (poll cannot see them).
    var pending: Bool { SSL_pending(ssl) > 0 }

    private func classify(_ rc: Int32) -> IO {
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: .wait(Int16(POLLIN))
        case SSL_ERROR_WANT_WRITE: .wait(Int16(POLLOUT))
        case SSL_ERROR_ZERO_RETURN: .closed
        case SSL_ERROR_SYSCALL where errno == 0: .closed
        default: .failed(TLSClientContext.lastError())
        }
    }
}
