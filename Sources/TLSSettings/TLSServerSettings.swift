/// A listener's TLS settings, with the OTel Collector's `tls` keys (configtls `ServerConfig`).
/// Plain values: `CollectorCore` reads them from the config, the transport builds the OpenSSL
/// context from them (so this module depends on neither).
///
/// ```yaml
/// tls:
///   cert_file: /etc/collectord/tls/server.crt   # or cert_pem: |  (inline PEM)
///   key_file: /etc/collectord/tls/server.key    # or key_pem: |
///   client_ca_file: /etc/collectord/tls/ca.crt  # mTLS: client certificates required and verified
///   min_version: "1.2"                          # "1.2" (default) or "1.3"
///   max_version: "1.3"
///   reload_interval: 1m                         # re-read the files when they change, checked this often
/// ```
public struct TLSServerSettings: Sendable, Equatable {
    /// The server's certificate chain (leaf first), PEM.
    public var certFile: String?
    /// The server's private key, PEM.
    public var keyFile: String?
    /// Inline PEM, used when the matching file is not set.
    public var certPEM: String?
    public var keyPEM: String?
    /// CAs that client certificates must chain to; setting it requires a client certificate.
    public var clientCAFile: String?
    /// configtls's `ca_file`: a server does not verify anything with it (as in the OTel
    /// Collector); it is read and checked at start. `client_ca_file` is what asks for client
    /// certificates.
    public var caFile: String?
    public var minVersion: TLSVersion = .v1_2
    /// nil: the newest OpenSSL speaks.
    public var maxVersion: TLSVersion?
    /// How often the files are checked for changes (nil: only on SIGHUP).
    public var reloadIntervalNanos: UInt64?

    public init(certFile: String? = nil, keyFile: String? = nil, clientCAFile: String? = nil) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
    }

    /// The files the settings read (for change detection), in a fixed order.
    public var files: [String] { [certFile, keyFile, clientCAFile, caFile].compactMap { $0 } }
}

/// A TLS protocol version a listener accepts.
public enum TLSVersion: String, Sendable, Equatable, CaseIterable {
    case v1_2 = "1.2"
    case v1_3 = "1.3"
}
