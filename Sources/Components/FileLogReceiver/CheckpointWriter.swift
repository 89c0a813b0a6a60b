import Dispatch
import Synchronization
import SystemIO

/// Writes the checkpoint file on its own serial queue, so that the fsync of every write never
/// stalls reading on the tailer's queue.
///
/// State: the newest content not yet written. A submission replaces any older pending one (only
/// the newest offsets matter), so a burst of acknowledgements costs one write. `flush` waits for
/// everything submitted; after `close` nothing more is written. While `hold` is on, writes wait
/// (a reload's new receiver must not replace the checkpoint before the reload commits).
final class CheckpointWriter: Sendable {
    private struct State {
        var pending: [UInt8]?
        var scheduled = false
        var closed = false
        var failing = false
        var held = false
    }

    private let path: String
    private let queue: DispatchQueue
    private let state = Mutex(State())
    /// Called for the first failure after a success (a full disk is reported once, not per write).
    private let onError: @Sendable (SystemError) -> Void

    init(path: String, label: String, onError: @escaping @Sendable (SystemError) -> Void) {
        self.path = path
        self.queue = DispatchQueue(label: label)
        self.onError = onError
    }

    func submit(_ bytes: [UInt8]) {
        let schedule = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.pending = bytes
            guard !s.held else { return false }
            defer { s.scheduled = true }
            return !s.scheduled
        }
        if schedule { queue.async { self.drain() } }
    }

    private func drain() {
        while let bytes = state.withLock({ s -> [UInt8]? in
            guard !s.closed, !s.held, let p = s.pending else {
                s.scheduled = false
                return nil
            }
            s.pending = nil
            return p
        }) {
            do throws(SystemError) {
                try AtomicFile.replace(path, with: bytes)
                state.withLock { $0.failing = false }
            } catch {
                // Not retried here: the next acknowledgement submits newer offsets anyway, and a
                // stale checkpoint only means lines read again after a restart, never lost.
                let first = state.withLock { s -> Bool in
                    defer { s.failing = true }
                    return !s.failing
                }
                if first { onError(error) }
            }
        }
    }

    /// Returns once everything submitted before is on disk. Called on the tailer's queue, the
    /// only one that submits, so nothing new arrives meanwhile.
    func flush() {
        queue.sync {}
    }

    /// The last write failed: the tailer writes again at its next poll (a stale checkpoint
    /// means lines read again after a restart).
    var lastWriteFailed: Bool { state.withLock { $0.failing } }

    /// Writes wait until `release` (the newest one submitted meanwhile is written then).
    func hold() {
        state.withLock { $0.held = true }
    }

    func release() {
        let schedule = state.withLock { s -> Bool in
            s.held = false
            guard !s.closed, s.pending != nil, !s.scheduled else { return false }
            s.scheduled = true
            return true
        }
        if schedule { queue.async { self.drain() } }
    }

    /// `close`, then waits for a write already under way: afterwards the file changes no more.
    func closeAndWait() {
        close()
        queue.sync {}
    }

    /// Nothing more is written (shutdown done, or a simulated crash).
    func close() {
        state.withLock { $0.closed = true }
    }
}
