internal import COpenSSL

/// An OpenSSL `SSL_CTX`: certificates, trust and protocol settings shared by the connections
/// made from it. The HTTP client builds client contexts; the server transport builds server
/// contexts (with ALPN and optional client-certificate verification).
///
/// Every error names what was being loaded and OpenSSL's reason; callers prefix the config key
/// (`tls.cert_file /path: ...`).
// @unchecked Sendable: a context is configured by its creator before it is shared and only read
// afterwards (creating `SSL` objects from a context is thread-safe in OpenSSL 1.1+); freed in
// `deinit`. The configuring methods are documented as "before sharing".
package final class SSLContext: @unchecked Sendable {
    package enum Role: Sendable { case client, server }

    /// The `SSL_CTX`; connections take their own reference to it (`SSL_new`).
    let pointer: OpaquePointer

    /// A context speaking TLS 1.2 and newer, with partial writes allowed and renegotiation off.
    package init(role: Role) throws(OpenSSLError) {
        OpenSSL.ignoreSIGPIPE()
        OpenSSL.clearErrors()
        guard let ctx = SSL_CTX_new(role == .client ? TLS_client_method() : TLS_server_method()) else {
            throw OpenSSLError.last("SSL_CTX_new")
        }
        pointer = ctx
        _ = collector_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        // A peer that closes without close_notify ends the stream (read as end of input), and
        // no renegotiation (so a write never has to wait for a read).
        _ = collector_SSL_CTX_set_stream_options(ctx)
        // Non-blocking writes: report each record written, and let a retried write pass the
        // same bytes from a different address (the output queue's arrays may move).
        _ = collector_SSL_CTX_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
    }

    deinit { SSL_CTX_free(pointer) }

    // MARK: - Configuration (before sharing)

    package func setVersions(min: TLSProtocolVersion, max: TLSProtocolVersion?) throws(OpenSSLError) {
        guard collector_SSL_CTX_set_min_proto_version(pointer, min.raw) == 1,
              collector_SSL_CTX_set_max_proto_version(pointer, max?.raw ?? 0) == 1
        else { throw OpenSSLError.last("protocol versions") }
    }

    /// The certificate chain (leaf first) and the private key, from PEM files.
    package func useIdentity(certificateFile: String, keyFile: String) throws(OpenSSLError) {
        OpenSSL.clearErrors()
        guard SSL_CTX_use_certificate_chain_file(pointer, certificateFile) == 1 else {
            throw OpenSSLError.last("cert_file \(certificateFile)")
        }
        guard SSL_CTX_use_PrivateKey_file(pointer, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw OpenSSLError.last("key_file \(keyFile)")
        }
        guard SSL_CTX_check_private_key(pointer) == 1 else {
            throw OpenSSLError.last("key_file \(keyFile) does not match cert_file \(certificateFile)")
        }
    }

    /// The certificate chain (leaf first) and the private key, from PEM text in memory.
    package func useIdentity(certificatePEM: [UInt8], keyPEM: [UInt8]) throws(OpenSSLError) {
        OpenSSL.clearErrors()
        let certificates = try PEM.certificates(certificatePEM, ifNone: "certificate: no PEM certificate")
        guard SSL_CTX_use_certificate(pointer, certificates[0].pointer) == 1 else {
            throw OpenSSLError.last("certificate")
        }
        for extra in certificates.dropFirst() {
            // SSL_CTX_add_extra_chain_cert takes ownership: give it its own reference.
            X509_up_ref(extra.pointer)
            guard collector_SSL_CTX_add_extra_chain_cert(pointer, extra.pointer) == 1 else {
                X509_free(extra.pointer)
                throw OpenSSLError.last("certificate chain")
            }
        }
        let key = try PEM.privateKey(keyPEM)
        guard SSL_CTX_use_PrivateKey(pointer, key.pointer) == 1, SSL_CTX_check_private_key(pointer) == 1 else {
            throw OpenSSLError.last("private key")
        }
    }

    /// Trusts the CA certificates in a PEM file.
    package func trust(file: String, what: String) throws(OpenSSLError) {
        OpenSSL.clearErrors()
        guard SSL_CTX_load_verify_locations(pointer, file, nil) == 1 else {
            throw OpenSSLError.last("\(what) \(file)")
        }
    }

    /// Trusts every certificate in `pem`.
    package func trust(pem: [UInt8]) throws(OpenSSLError) {
        let store = SSL_CTX_get_cert_store(pointer)
        for certificate in try PEM.certificates(pem, ifNone: "certificate authority: no PEM certificate in the CA data") {
            guard X509_STORE_add_cert(store, certificate.pointer) == 1 else {
                throw OpenSSLError.last("certificate authority: adding a CA certificate")
            }
        }
    }

    /// Trusts the system's CA certificates.
    package func trustSystemDefaults() throws(OpenSSLError) {
        guard SSL_CTX_set_default_verify_paths(pointer) == 1 else {
            throw OpenSSLError.last("cannot load the system's CA certificates")
        }
    }

    /// Whether the peer's certificate is checked (clients: the server's, always sent).
    package func verifyPeer(_ verify: Bool) {
        SSL_CTX_set_verify(pointer, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
    }

    /// Server side (mTLS): every client must present a certificate that chains to a CA in
    /// `file`; the CA names are sent in the CertificateRequest.
    package func requireClientCertificates(caFile file: String) throws(OpenSSLError) {
        try trust(file: file, what: "client_ca_file")
        guard let names = SSL_load_client_CA_file(file) else {
            throw OpenSSLError.last("client_ca_file \(file)")
        }
        SSL_CTX_set_client_CA_list(pointer, names)
        SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        // Sessions resumed under client verification must belong to this context.
        let id = Array("collectord".utf8)
        _ = SSL_CTX_set_session_id_context(pointer, id, UInt32(id.count))
    }

    /// Server side: ALPN answers "h2" when offered, else "http/1.1".
    package func selectH2OrHTTP11() {
        collector_SSL_CTX_select_h2_or_http11(pointer)
    }

    /// Client side: offers `protocols` with ALPN, most preferred first.
    package func offer(protocols: [String]) {
        var wire: [UInt8] = []
        for name in protocols {
            wire.append(UInt8(name.utf8.count))
            wire.append(contentsOf: name.utf8)
        }
        _ = SSL_CTX_set_alpn_protos(pointer, wire, UInt32(wire.count))
    }
}
