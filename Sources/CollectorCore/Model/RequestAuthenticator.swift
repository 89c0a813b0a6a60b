import Synchronization

/// Decides whether a request may be served from its `Authorization` header (gRPC metadata
/// travels in the same header). An authenticator extension (`bearertokenauth`) provides one;
/// listeners with `auth: {authenticator: <id>}` ask it for every request.
///
/// Threading: called on connection queues, concurrently; implementations are thread-safe and
/// must not block for long (a file re-read on change is fine).
public protocol RequestAuthenticator: Sendable {
    /// True when `authorization` (the header's value, nil when absent) is accepted.
    func authenticate(authorization: String?) -> Bool
    /// The `WWW-Authenticate` challenge sent with a 401 (e.g. `Bearer`).
    var challenge: String { get }
}

/// The authenticators of the running extensions, by id: an authenticator extension registers
/// itself when it starts and leaves when it shuts down (only if still the one registered, so a
/// successor started by a reload stays). Listeners look theirs up per request, so a reload
/// that replaces the extension takes effect for the next request. A host service.
/// Thread-safe.
public final class AuthenticatorRegistry: Sendable {
    private let entries = Mutex<[ComponentID: any RequestAuthenticator & AnyObject]>([:])

    public init() {}

    public func register(_ authenticator: any RequestAuthenticator & AnyObject, as id: ComponentID) {
        entries.withLock { $0[id] = authenticator }
    }

    public func unregister(_ authenticator: any RequestAuthenticator & AnyObject, as id: ComponentID) {
        entries.withLock { entries in
            if let current = entries[id], current === authenticator { entries[id] = nil }
        }
    }

    /// The running authenticator for `id`, or nil (not started, or gone).
    public func authenticator(_ id: ComponentID) -> (any RequestAuthenticator)? {
        entries.withLock { $0[id] }
    }

    /// Checks that `id` names an extension enabled in `config` (a start error otherwise, as
    /// otelcol's "failed to resolve authenticator").
    public static func validate(_ id: ComponentID, in config: CollectorConfig, for user: String) throws(ComponentError) {
        guard config.serviceExtensions.contains(id) else {
            throw .permanent("\(user): authenticator \"\(id)\" is not an extension listed in service.extensions")
        }
    }
}

/// A component serving TLS whose certificates can be re-read while it keeps running: on every
/// reload (SIGHUP) the service calls this on the instances it keeps unchanged, so rotated
/// certificates serve the next connections. Throws (the service logs it) when the files are
/// bad; the previous certificates then stay in use.
public protocol CertificateReloading: AnyObject {
    func reloadCertificates() throws
}

/// A listener's `auth`: the authenticator it asks, looked up per request (see
/// ``AuthenticatorRegistry``). An authenticator that is not running refuses everything.
public struct ListenerAuth: Sendable {
    public let id: ComponentID
    private let registry: AuthenticatorRegistry

    public init(id: ComponentID, registry: AuthenticatorRegistry) {
        self.id = id
        self.registry = registry
    }

    /// nil when `authorization` is accepted; else the challenge for `WWW-Authenticate`.
    public func refusal(authorization: String?) -> String? {
        guard let authenticator = registry.authenticator(id) else { return "Bearer" }
        return authenticator.authenticate(authorization: authorization) ? nil : authenticator.challenge
    }
}
