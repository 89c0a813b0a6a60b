import TLSSettings

extension ConfigReader {
    /// configtls's client keys under `key` (`tls`): `insecure`, `ca_file`, `cert_file` and
    /// `key_file` (together), `server_name_override`, `insecure_skip_verify`; the defaults when
    /// absent.
    public func tlsClientSettings(_ key: String = "tls") -> TLSClientSettings {
        var s = TLSClientSettings()
        guard let tls = section(key) else { return s }
        func path(_ key: String) -> String? {
            let value = tls.string(key, default: "")
            return value.isEmpty ? nil : value
        }
        s.insecure = tls.bool("insecure", default: false)
        s.caFile = path("ca_file")
        s.certFile = path("cert_file")
        s.keyFile = path("key_file")
        s.serverNameOverride = path("server_name_override")
        s.insecureSkipVerify = tls.bool("insecure_skip_verify", default: false)
        _ = tls.raw("min_version")
        if (s.certFile == nil) != (s.keyFile == nil) {
            tls.problem(s.certFile == nil ? "key_file" : "cert_file", "cert_file and key_file go together")
        }
        return s
    }

    /// configtls's server keys under `key` (`tls`): nil when absent. `cert_file` and `key_file`
    /// (or `cert_pem` and `key_pem`) are required; `client_ca_file` turns on mutual TLS;
    /// `min_version` "1.2" (default) or "1.3", `max_version`; `reload_interval` > 0. The files
    /// are read when the listener starts (a bad file is a start error naming it).
    public func tlsServerSettings(_ key: String = "tls") -> TLSServerSettings? {
        guard let tls = section(key) else { return nil }
        var s = TLSServerSettings()
        func text(_ key: String) -> String? {
            let value = tls.string(key, default: "")
            if value.isEmpty, tls.node[key] != nil { tls.problem(key, "must not be empty") }
            return value.isEmpty ? nil : value
        }
        s.certFile = text("cert_file")
        s.keyFile = text("key_file")
        s.certPEM = text("cert_pem")
        s.keyPEM = text("key_pem")
        s.clientCAFile = text("client_ca_file")
        s.caFile = text("ca_file")
        for (file, pem) in [("cert_file", "cert_pem"), ("key_file", "key_pem")] where tls.node[file] != nil && tls.node[pem] != nil {
            tls.problem(pem, "\(file) and \(pem) exclude each other")
        }
        let hasCert = s.certFile != nil || s.certPEM != nil, hasKey = s.keyFile != nil || s.keyPEM != nil
        if !hasCert || !hasKey {
            problem(key, "a TLS listener needs cert_file and key_file (or cert_pem and key_pem)")
        } else if (s.certFile == nil) != (s.keyFile == nil) {
            tls.problem(s.certFile == nil ? "cert_pem" : "cert_file", "use cert_file with key_file, or cert_pem with key_pem")
        }
        s.minVersion = tls.tlsVersion("min_version") ?? .v1_2
        s.maxVersion = tls.tlsVersion("max_version")
        if let max = s.maxVersion, max == .v1_2, s.minVersion == .v1_3 {
            tls.problem("max_version", "is older than min_version \(s.minVersion.rawValue)")
        }
        if tls.node["reload_interval"] != nil {
            let interval = tls.duration("reload_interval", default: 0)
            if interval == 0 { tls.problem("reload_interval", "must be greater than 0") } else { s.reloadIntervalNanos = interval }
        }
        return s
    }

    /// `min_version` / `max_version`: "1.2" or "1.3" (TLS 1.0 and 1.1 are refused).
    private func tlsVersion(_ key: String) -> TLSVersion? {
        guard node[key] != nil else { return nil }
        let text = string(key, default: "")
        guard let version = TLSVersion(rawValue: text) else {
            let why = ["1.0", "1.1"].contains(text) ? "TLS \(text) is not supported (1.2 is the oldest)" : "\"\(text)\" is not one of 1.2, 1.3"
            problem(key, why)
            return nil
        }
        return version
    }

    /// configauth's `auth: {authenticator: <extension id>}`: nil when absent.
    public func authenticator(_ key: String = "auth") -> ComponentID? {
        guard let auth = section(key) else { return nil }
        let text = auth.string("authenticator", default: "")
        guard let id = ComponentID(parsing: text) else {
            auth.problem("authenticator", text.isEmpty ? "is required (the id of an authenticator extension, e.g. bearertokenauth)"
                                                         : "\"\(text)\" is not a component id")
            return nil
        }
        return id
    }
}
