import CollectorCore
import Dispatch
import Synchronization

/// An extension that holds a reference on a shared store (see `StoreRegistry`) for as long as
/// it runs, and gives it back once its own shutdown completed.
final class StoreHoldingExtension: Extension, CertificateReloading {
    private let inner: any Extension
    private let release = Mutex<(@Sendable () -> Void)?>(nil)

    init(_ inner: any Extension, release: @escaping @Sendable () -> Void) {
        self.inner = inner
        self.release.withLock { $0 = release }
    }

    func start() throws { try inner.start() }

    func pipelinesChanged(running: Bool) { inner.pipelinesChanged(running: running) }

    func reloadCertificates() throws { try (inner as? any CertificateReloading)?.reloadCertificates() }

    func shutdown(deadline: DispatchTime, completion: @escaping @Sendable () -> Void) {
        let release = self.release.withLock { r in defer { r = nil }; return r }
        inner.shutdown(deadline: deadline) {
            release?()
            completion()
        }
    }
}
