import SystemIO

/// Why a store operation failed.
///
/// A struct with a private representation (per the style guide) so new cases break nobody.
/// `isPermanent` is the retry meaning at the exporter boundary: a payload the store refuses
/// fails the same way every time (permanent); an I/O failure such as a full disk may pass later
/// (retryable).
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Hashable {
        case system(SystemError)
        case invalidPayload(String)
        case invalidConfig([String])
        case corrupt(path: String, reason: String)
        case closed
        case inUse(String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// A system call failed. The one place where the store's errors (and the tail sampler's
    /// hold, which shares its formats) come from the system layer, so a full disk reads as it
    /// does everywhere: `pwrite /data/seg-...seg: No space left on device`.
    public init(_ error: SystemError) { self.init(.system(error)) }

    /// Runs `body`, turning its ``SystemError`` into a `StoreError`.
    @discardableResult
    public static func io<R>(_ body: () throws(SystemError) -> R) throws(StoreError) -> R {
        do throws(SystemError) { return try body() } catch { throw StoreError(error) }
    }

    static func invalidPayload(_ reason: String) -> StoreError { StoreError(.invalidPayload(reason)) }
    static func invalidConfig(_ problems: [String]) -> StoreError { StoreError(.invalidConfig(problems)) }
    public static func corrupt(_ path: String, _ reason: String) -> StoreError { StoreError(.corrupt(path: path, reason: reason)) }
    static let closed = StoreError(.closed)
    public static func inUse(_ directory: String) -> StoreError { StoreError(.inUse(directory)) }

    /// True when retrying the same operation cannot succeed.
    public var isPermanent: Bool {
        switch kind {
        case .invalidPayload, .invalidConfig: true
        case .system, .corrupt, .closed, .inUse: false
        }
    }

    /// The `errno` of a failed system call, else nil.
    public var errno: Int32? {
        if case .system(let error) = kind { return error.errno }
        return nil
    }

    public var description: String {
        switch kind {
        case .system(let error):
            error.description
        case .invalidPayload(let reason):
            "invalid payload: \(reason)"
        case .invalidConfig(let problems):
            "invalid store config: " + problems.joined(separator: "; ")
        case .corrupt(let path, let reason):
            "corrupt \(path): \(reason)"
        case .closed:
            "the store is closed"
        case .inUse(let directory):
            "the store directory \(directory) is in use by another store (its LOCK file is locked)"
        }
    }
}

extension DirectoryLock {
    /// Creates `directory` and takes its `LOCK` file for one store (or one tail-sampling hold,
    /// which shares the formats); while another holder has it, throws ``StoreError/inUse(_:)``.
    public static func store(_ directory: String) throws(StoreError) -> DirectoryLock {
        do throws(SystemError) {
            try Sys.makeDirectories(directory)
            return try DirectoryLock(directory: directory, name: "LOCK")
        } catch {
            throw error.isBusy && error.call == "flock" ? StoreError.inUse(directory) : StoreError(error)
        }
    }
}
