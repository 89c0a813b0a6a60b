import TLSSettings

/// Where and how an ``HTTP2Client`` connects.
///
/// `tls` nil, or with `insecure` set, speaks h2c with prior knowledge (gRPC's plaintext);
/// otherwise TLS with ALPN "h2" and the OTel Collector's client TLS options (`ca_file`,
/// `cert_file` + `key_file`, `server_name_override`, `insecure_skip_verify`).
public struct HTTP2ClientConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var tls: TLSClientSettings?
    /// The `:authority` sent (default `host:port`, IPv6 literals in brackets).
    public var authority: String?
    /// Resolve + connect + TLS handshake + the server's first SETTINGS, in nanoseconds.
    public var connectTimeoutNanos: UInt64 = 10_000_000_000
    /// A response body past this many bytes fails the request (``HTTP2ClientError/Kind/responseTooLarge``).
    public var maxResponseBytes: Int = 64 << 20
    /// Our receive windows (SETTINGS_INITIAL_WINDOW_SIZE per stream, and the connection's):
    /// large, so multi-megabyte responses flow without waiting for WINDOW_UPDATEs.
    public var streamWindowBytes: Int32 = 8 << 20
    public var connectionWindowBytes: Int32 = 32 << 20

    public init(host: String, port: Int, tls: TLSClientSettings? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    /// Whether connections use TLS.
    public var usesTLS: Bool { tls.map { !$0.insecure } ?? false }

    /// The `:authority` pseudo-header.
    var authorityValue: String {
        if let authority { return authority }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The problems with these settings (empty when they are usable), each naming its field.
    public func validate() -> [String] {
        var problems: [String] = []
        if host.isEmpty { problems.append("host must not be empty") }
        if !(1...65535).contains(port) { problems.append("port must be from 1 to 65535, not \(port)") }
        if maxResponseBytes <= 0 { problems.append("maxResponseBytes must be positive") }
        if streamWindowBytes <= 0 || connectionWindowBytes <= 0 { problems.append("window sizes must be positive") }
        if let tls, !tls.insecure, (tls.certFile == nil) != (tls.keyFile == nil) {
            problems.append("tls: cert_file and key_file must be set together")
        }
        return problems
    }
}
