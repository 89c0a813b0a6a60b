import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Socket readiness for the whole process: one epoll instance watched by one thread, with
/// every event delivered as a block on the registrant's serial `DispatchQueue`.
///
/// Why not `DispatchSourceRead`/`DispatchSourceWrite`: on Linux, libdispatch's epoll backend
/// mishandles hang-ups. We saw a source suspended for backpressure never run its cancel
/// handler after the peer reset (the socket and connection leaked and shutdown never
/// completed), and a hang-up on a watched listening socket crashed the process in
/// `_dispatch_event_loop_drain` (see swift-corelibs-libdispatch issues #833 and #949).
/// This reactor keeps Dispatch for all execution and replaces only the readiness plumbing.
///
/// Contract:
/// - ``register(_:queue:handler:)`` gives a descriptor a unique token; tokens are never reused,
///   so a recycled descriptor number cannot receive another registration's events.
/// - Interest is one-shot: once an event is delivered the descriptor is disarmed until its
///   owner calls ``arm(_:token:read:write:)`` again, normally at the end of its handler. So
///   handlers for one descriptor never overlap, and pausing means not re-arming.
/// - ``deregister(_:token:)`` is synchronous; events already fetched for the token are
///   dropped, and a handler already enqueued may still run (owners ignore it once closed).
/// - The owner closes the descriptor only after `deregister`.
/// Thread-safe.
final class Reactor: Sendable {
    struct Events: OptionSet, Sendable {
        let rawValue: UInt32
        static let readable = Events(rawValue: Epoll.readable)
        static let writable = Events(rawValue: Epoll.writable)
        static let error = Events(rawValue: Epoll.error)
        static let hangup = Events(rawValue: Epoll.hangup)
    }

    private struct Registration: Sendable {
        let queue: DispatchQueue
        let handler: @Sendable (Events) -> Void
    }

    /// The process-wide reactor, or why it could not be created (out of descriptors).
    static let shared: Result<Reactor, TransportError> = {
        do {
            let reactor = try Reactor()
            try reactor.startThread()
            return .success(reactor)
        } catch let error as TransportError {
            return .failure(error)
        } catch {
            return .failure(TransportError.systemCall("epoll", errno: EIO))
        }
    }()

    private static let batchSize: Int32 = 256

    private let epfd: Int32
    private let registrations = Mutex<[UInt64: Registration]>([:])
    private let nextToken = Atomic<UInt64>(1)

    private init() throws {
        epfd = try Epoll.create()
    }

    /// Watches `fd`; `handler` runs on `queue` for each event. Starts disarmed (only errors
    /// and hang-ups are reported until ``arm(_:token:read:write:)``).
    func register(_ fd: Int32, queue: DispatchQueue, handler: @escaping @Sendable (Events) -> Void) throws -> UInt64 {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        registrations.withLock { $0[token] = Registration(queue: queue, handler: handler) }
        do {
            try Epoll.control(epfd, Epoll.add, fd, events: Epoll.oneShot, token: token)
        } catch {
            registrations.withLock { _ = $0.removeValue(forKey: token) }
            throw error
        }
        return token
    }

    /// Arms one event for `fd`: readable and/or writable (errors and hang-ups always count).
    func arm(_ fd: Int32, token: UInt64, read: Bool, write: Bool) throws {
        let events = Epoll.oneShot | (read ? Epoll.readable : 0) | (write ? Epoll.writable : 0)
        try Epoll.control(epfd, Epoll.modify, fd, events: events, token: token)
    }

    /// Stops watching `fd`. Call before closing it.
    func deregister(_ fd: Int32, token: UInt64) {
        _ = try? Epoll.control(epfd, Epoll.delete, fd, events: 0, token: token)
        registrations.withLock { _ = $0.removeValue(forKey: token) }
    }

    // MARK: - The event thread

    private func startThread() throws {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            Unmanaged<Reactor>.fromOpaque(context!).takeUnretainedValue().run()
        }, context)
        guard rc == 0 else {
            Unmanaged<Reactor>.fromOpaque(context).release()
            throw TransportError.systemCall("pthread_create", errno: rc)
        }
        pthread_detach(thread)
    }

    private func run() -> Never {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Int(Self.batchSize) * Epoll.eventSize, alignment: 8)
        var ready: [(Registration, Events)] = []
        ready.reserveCapacity(Int(Self.batchSize))
        while true {
            let count: Int
            do {
                count = try Epoll.wait(epfd, into: buffer, capacity: Self.batchSize, timeoutMilliseconds: -1)
            } catch {
                usleep(10_000)  // cannot happen with a valid epfd; do not spin if it does
                continue
            }
            registrations.withLock { registrations in
                for index in 0..<count {
                    let (events, token) = Epoll.event(at: index, in: buffer)
                    if let registration = registrations[token] {
                        ready.append((registration, Events(rawValue: events)))
                    }
                }
            }
            for (registration, events) in ready {
                let handler = registration.handler
                registration.queue.async { handler(events) }
            }
            ready.removeAll(keepingCapacity: true)
        }
    }
}
