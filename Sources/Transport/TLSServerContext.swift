import Dispatch
import OpenSSLSupport
import Synchronization
import SystemIO
import TLSSettings

/// A listener's TLS credentials: the OpenSSL server context built from ``TLSServerSettings``,
/// re-read when its files change.
///
/// Every accepted connection asks for the current context (``contextForNewConnection()``);
/// connections keep the context they started with, so replacing it never disturbs them.
/// Reloading:
/// - With `reload_interval`, the first connection accepted once the interval has passed since
///   the last check compares the files' identity (device, inode, size, modification time) with
///   those read last; if any differs, the files are read again first. Checking on
///   accept (as configtls does on a handshake) needs no timer, and an idle listener costs
///   nothing.
/// - ``reload()`` re-reads the files at once (SIGHUP).
/// A reload that fails (a half-written file, a key that does not match its certificate) keeps
/// the previous context; it is counted (`TransportStats.tlsReloadFailures`) and, for
/// ``reload()``, thrown. The files are tried again at the next check.
///
/// Threading: thread-safe; the state is behind one `Mutex`, held while files are read (only
/// when they changed).
public final class TLSServerContext: Sendable {
    /// Why the certificates could not be loaded, naming the key, the file and OpenSSL's
    /// reason: `tls.cert_file /etc/tls/server.crt: error:...:No such file or directory`.
    public struct LoadError: Error, CustomStringConvertible, Sendable, Equatable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    private struct State {
        var context: SSLContext
        /// What `stat` said about each file when it was read (nil: could not be examined);
        /// a rename, a rewrite in place or a `touch` changes it.
        var stamps: [FileStatus?]
        /// When the files are next compared (monotonic ns).
        var nextCheck: UInt64
        var loads = 1
    }

    public let settings: TLSServerSettings
    private let now: @Sendable () -> UInt64
    private let state: Mutex<State>

    static let reloadFailures = TransportCounter()

    /// Loads the certificates now.
    /// - Parameter now: the monotonic clock in ns (tests pass their own).
    public init(settings: TLSServerSettings, now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds })
        throws(LoadError) {
        self.settings = settings
        self.now = now
        let stamps = Self.stamps(settings)
        let context = try Self.build(settings)
        state = Mutex(State(context: context, stamps: stamps, nextCheck: now() &+ (settings.reloadIntervalNanos ?? 0)))
    }

    /// How many times the certificates have been read (1 after `init`).
    public var loadCount: Int { state.withLock { $0.loads } }

    /// Re-reads the files now; new connections use what was read. On failure the previous
    /// certificates stay in use and the error is thrown.
    public func reload() throws(LoadError) {
        let result: Result<Void, LoadError> = state.withLock { state in
            let stamps = Self.stamps(settings)
            do throws(LoadError) {
                state.context = try Self.build(settings)
            } catch {
                Self.reloadFailures.increment()
                return .failure(error)
            }
            state.stamps = stamps
            state.loads += 1
            return .success(())
        }
        try result.get()
    }

    /// The context a newly accepted connection uses; re-reads changed files first when the
    /// reload interval has passed.
    func contextForNewConnection() -> SSLContext {
        guard let interval = settings.reloadIntervalNanos else { return state.withLock { $0.context } }
        let time = now()
        return state.withLock { state in
            guard time >= state.nextCheck else { return state.context }
            state.nextCheck = time &+ interval
            let stamps = Self.stamps(settings)
            guard stamps != state.stamps else { return state.context }
            do {
                state.context = try Self.build(settings)
                state.stamps = stamps
                state.loads += 1
            } catch {
                Self.reloadFailures.increment()
            }
            return state.context
        }
    }

    static func stamps(_ settings: TLSServerSettings) -> [FileStatus?] {
        settings.files.map { try? Sys.stat($0) }
    }

    /// A server context for `settings`: TLS 1.2+ (or as configured), the certificate and key,
    /// client certificates required when `client_ca_file` is set, ALPN "h2" / "http/1.1".
    static func build(_ settings: TLSServerSettings) throws(LoadError) -> SSLContext {
        do throws(OpenSSLError) {
            let context = try SSLContext(role: .server)
            try context.setVersions(min: settings.minVersion.protocolVersion, max: settings.maxVersion?.protocolVersion)
            if let cert = settings.certFile, let key = settings.keyFile {
                try context.useIdentity(certificateFile: cert, keyFile: key)
            } else if let cert = settings.certPEM, let key = settings.keyPEM {
                try context.useIdentity(certificatePEM: Array(cert.utf8), keyPEM: Array(key.utf8))
            } else {
                throw OpenSSLError("cert_file and key_file (or cert_pem and key_pem) are required")
            }
            if let ca = settings.clientCAFile {
                try context.requireClientCertificates(caFile: ca)
            }
            if let ca = settings.caFile {
                // Checked only (a server verifies nothing with it, as in the OTel Collector).
                try SSLContext(role: .server).trust(file: ca, what: "ca_file")
            }
            context.selectH2OrHTTP11()
            return context
        } catch {
            throw LoadError("tls.\(error.description)")
        }
    }
}

extension TLSVersion {
    var protocolVersion: TLSProtocolVersion {
        switch self {
        case .v1_2: .tls12
        case .v1_3: .tls13
        }
    }
}
