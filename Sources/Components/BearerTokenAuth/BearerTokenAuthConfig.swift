import CollectorCore
import Dispatch

/// Settings of the `bearertokenauth` extension, as the OTel Collector's (contrib) server side:
///
/// ```yaml
/// extensions:
///   bearertokenauth:
///     token: ${env:QUERY_TOKEN}     # or
///     filename: /run/secrets/token  # re-read when it changes
///     scheme: Bearer                # the default
/// ```
/// Listeners use it with `auth: {authenticator: bearertokenauth}`.
public struct BearerTokenAuthSettings: ComponentSettings, Equatable {
    public var token: String?
    public var filename: String?
    public var scheme = "Bearer"
    public init() {}
}

public struct BearerTokenAuthFactory: ExtensionFactory {
    public init() {}
    public var type: String { "bearertokenauth" }
    public var kind: ComponentKind { .extension }
    public var signals: Set<Signal> { [] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = BearerTokenAuthSettings()
        let token = reader.string("token", default: "")
        let filename = reader.string("filename", default: "")
        s.token = token.isEmpty ? nil : token
        s.filename = filename.isEmpty ? nil : filename
        s.scheme = reader.string("scheme", default: s.scheme)
        if s.token != nil && s.filename != nil {
            reader.problem("filename", "either token or filename, not both")
        } else if s.token == nil && s.filename == nil {
            reader.problem("token", "a token (or a filename holding it) is required")
        }
        if s.scheme.contains(where: { $0 == " " || $0 == "\t" }) { reader.problem("scheme", "must be one word") }
        return s
    }
}

extension BearerTokenAuthFactory {
    public func makeExtension(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Extension {
        let s = try context.settings(settings, as: BearerTokenAuthSettings.self)
        let authenticator = try BearerTokenAuthenticator(settings: s)
        return BearerTokenAuthExtension(id: context.id, authenticator: authenticator,
                                        registry: try context.service(AuthenticatorRegistry.self))
    }
}

/// The extension: makes its authenticator available to the listeners while it runs.
final class BearerTokenAuthExtension: Extension {
    let id: ComponentID
    let authenticator: BearerTokenAuthenticator
    let registry: AuthenticatorRegistry

    init(id: ComponentID, authenticator: BearerTokenAuthenticator, registry: AuthenticatorRegistry) {
        self.id = id
        self.authenticator = authenticator
        self.registry = registry
    }

    func start() throws { registry.register(authenticator, as: id) }

    func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        registry.unregister(authenticator, as: id)
        completion()
    }
}
