import Synchronization

/// Plain HTTP routing: every request goes to the handler, bodies are bounded by
/// ``HTTPServerLimits/maxBodyBytes`` (413). Thread-safe.
final class HTTPRouter: RequestRouter {
    private struct Config {
        var handler: HTTPHandler
        var limits: HTTPServerLimits
        var policy: BodyPolicy
        var observer: RefusalObserver?
    }

    private let config: Mutex<Config>

    init(limits: HTTPServerLimits, handler: @escaping HTTPHandler) {
        config = Mutex(Config(handler: handler, limits: limits, policy: Self.policy(for: limits)))
    }

    var limits: HTTPServerLimits { config.withLock { $0.limits } }

    func setHandler(_ handler: @escaping HTTPHandler) {
        config.withLock { $0.handler = handler }
    }

    func setLimits(_ limits: HTTPServerLimits) {
        config.withLock {
            $0.limits = limits
            $0.policy = Self.policy(for: limits)
        }
    }

    func setRefusalObserver(_ observer: RefusalObserver?) {
        config.withLock { $0.observer = observer }
    }

    func refused(_ response: HTTPResponse) {
        config.withLock { $0.observer }?(RefusedRequest(response))
    }

    func admit(_ head: HTTPRequest) -> BodyAdmission {
        .accept(config.withLock { $0.policy })
    }

    func dispatch(_ request: consuming HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let handler = config.withLock { $0.handler }
        handler(request, respond)
    }

    private static func policy(for limits: HTTPServerLimits) -> BodyPolicy {
        BodyPolicy(maxBytes: limits.maxBodyBytes,
                   overflow: .text(413, "request body larger than \(limits.maxBodyBytes) bytes\n"),
                   inspect: nil)
    }
}
