import CollectorCore
import Dispatch
import Synchronization
import SystemIO

/// Accepts a request whose `Authorization` is exactly `<scheme> <token>`, compared in constant
/// time (the time taken does not depend on where the bytes differ).
///
/// With `filename`, the token is the file's content (surrounding whitespace removed), re-read
/// when the file changes: at most once per ``checkInterval`` a request compares the file's
/// inode, size and modification time with those read last. A file that cannot be read keeps
/// the previous token (none at start: the extension fails to start, naming the file).
///
/// Threading: thread-safe; the file state is behind a `Mutex`.
final class BearerTokenAuthenticator: RequestAuthenticator, Sendable {
    static let checkInterval: UInt64 = 1_000_000_000

    private struct FileState {
        var expected: [UInt8]
        var identity: FileStatus?
        var nextCheck: UInt64
    }

    let challenge: String
    private let scheme: String
    private let fixed: [UInt8]?
    private let filename: String?
    /// The token from `filename` (unused with a fixed token).
    private let file: Mutex<FileState>
    private let now: @Sendable () -> UInt64

    /// - Throws: when `filename` cannot be read or is empty.
    init(settings: BearerTokenAuthSettings, now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) throws(ComponentError) {
        scheme = settings.scheme
        challenge = settings.scheme
        filename = settings.filename
        self.now = now
        if let filename = settings.filename {
            guard let (token, identity) = Self.read(filename), !token.isEmpty else {
                let why = (try? Sys.readFile(filename)) == nil ? "missing or unreadable" : "empty"
                throw .permanent("bearertokenauth: cannot read a token from filename \(filename): \(why)")
            }
            fixed = nil
            file = Mutex(FileState(expected: Self.expected(settings.scheme, token), identity: identity,
                                   nextCheck: now() &+ Self.checkInterval))
        } else {
            fixed = Self.expected(settings.scheme, Array((settings.token ?? "").utf8))
            file = Mutex(FileState(expected: [], identity: nil, nextCheck: .max))
        }
    }

    func authenticate(authorization: String?) -> Bool {
        guard let authorization else { return false }
        let expected = fixed ?? currentFromFile()
        return Self.constantTimeEqual(Array(authorization.utf8), expected)
    }

    private func currentFromFile() -> [UInt8] {
        guard let filename else { return [] }
        let time = now()
        return file.withLock { state in
            guard time >= state.nextCheck else { return state.expected }
            state.nextCheck = time &+ Self.checkInterval
            guard let identity = Self.identity(filename), identity != state.identity,
                  let (token, readIdentity) = Self.read(filename), !token.isEmpty
            else { return state.expected }
            state.expected = Self.expected(scheme, token)
            state.identity = readIdentity
            return state.expected
        }
    }

    static func expected(_ scheme: String, _ token: [UInt8]) -> [UInt8] { Array(scheme.utf8) + [0x20] + token }

    /// Equal length and bytes, looking at every byte of the longer one whatever differs.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | (a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    /// Device, inode, size and modification time: what changes when the file is replaced or
    /// rewritten.
    static func identity(_ path: String) -> FileStatus? { try? Sys.stat(path) }

    /// The file's content without surrounding whitespace, and its identity before reading.
    static func read(_ path: String) -> ([UInt8], FileStatus)? {
        guard let identity = identity(path), let bytes = try? Sys.readFile(path) else { return nil }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return ([], identity)
        }
        return (Array(bytes[first...last]), identity)
    }
}
