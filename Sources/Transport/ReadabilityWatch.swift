import Dispatch

/// Readability notifications for a descriptor that is not a connection (an inotify instance,
/// say), through the process's reactor (see ``Reactor`` for why not `DispatchSourceRead`).
///
/// One-shot like the reactor: after `handler` ran, nothing more is reported until ``arm()``.
/// ``cancel()`` stops the notifications; the owner closes the descriptor after it.
public final class ReadabilityWatch: Sendable {
    private let fd: Int32
    private let token: UInt64
    private let reactor: Reactor

    /// Watches `fd` and arms it once; `handler` runs on `queue`.
    public init(fd: Int32, queue: DispatchQueue, handler: @escaping @Sendable () -> Void) throws {
        let reactor = try Reactor.shared.get()
        self.fd = fd
        self.reactor = reactor
        token = try reactor.register(fd, queue: queue) { _ in handler() }
        do {
            try reactor.arm(fd, token: token, read: true, write: false)
        } catch {
            reactor.deregister(fd, token: token)
            throw error
        }
    }

    /// Reports the next readability.
    public func arm() {
        try? reactor.arm(fd, token: token, read: true, write: false)
    }

    public func cancel() {
        reactor.deregister(fd, token: token)
    }
}
