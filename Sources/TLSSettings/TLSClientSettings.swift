/// A client's TLS settings, with the OTel Collector's names (configtls's ClientConfig):
/// `insecure` (gRPC: plaintext h2c), `ca_file` (else the system's trust store), `cert_file` +
/// `key_file` (client certificate), `insecure_skip_verify`, `server_name_override`. The
/// `...PEM` fields carry the same material in memory (a kubeconfig's
/// `certificate-authority-data`, `client-certificate-data`, `client-key-data`) and are used
/// when the matching file is not set. Plain values; the HTTP and gRPC clients build their
/// OpenSSL contexts from them.
public struct TLSClientSettings: Sendable, Equatable {
    /// Plaintext even where the scheme does not say (an `otlp` endpoint without scheme).
    public var insecure = false
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
