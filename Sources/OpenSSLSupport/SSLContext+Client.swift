import TLSSettings

extension SSLContext {
    /// A client context from the OTel Collector's TLS settings: TLS 1.2 at least; the server's
    /// certificate must chain to `ca_file` / `caPEM` (else the system's trust store) unless
    /// `insecure_skip_verify`; a client certificate when `cert_file` + `key_file` (or the PEM
    /// pair) are set; `alpn` offered most preferred first (none when empty). File errors name
    /// their config key (`tls.ca_file /path: ...`, `tls.cert_file /path: ...`).
    package static func client(_ settings: TLSClientSettings, alpn: [String] = []) throws(OpenSSLError) -> SSLContext {
        do {
            let context = try SSLContext(role: .client)
            if let ca = settings.caFile {
                try context.trust(file: ca, what: "tls.ca_file")
            } else if let pem = settings.caPEM {
                try context.trust(pem: pem)
            } else {
                try context.trustSystemDefaults()
            }
            if let cert = settings.certFile, let key = settings.keyFile {
                try context.useIdentity(certificateFile: cert, keyFile: key)
            } else if let cert = settings.certPEM, let key = settings.keyPEM {
                try context.useIdentity(certificatePEM: cert, keyPEM: key)
            }
            context.verifyPeer(!settings.insecureSkipVerify)
            if !alpn.isEmpty { context.offer(protocols: alpn) }
            return context
        } catch {
            throw OpenSSLError(Self.prefixed(error.description))
        }
    }

    /// `cert_file ...` / `key_file ...` become `tls.cert_file ...` as the config names them.
    private static func prefixed(_ message: String) -> String {
        for key in ["cert_file ", "key_file "] where message.hasPrefix(key) { return "tls." + message }
        return message
    }
}
