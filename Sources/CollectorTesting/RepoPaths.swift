import Foundation

/// Where things are in the repository checkout that built these helpers.
///
/// The root is found by walking up from this source file (`#filePath`) to the directory that
/// holds `Package.swift`; `COLLECTOR_REPO_ROOT` overrides it.
public enum RepoPaths {
    /// The repository root (the directory with `Package.swift`).
    public static let root: URL = {
        if let env = ProcessInfo.processInfo.environment["COLLECTOR_REPO_ROOT"], !env.isEmpty {
            return URL(fileURLWithPath: env, isDirectory: true).standardizedFileURL
        }
        return findRoot(startingAt: #filePath) ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// Walks up from `path` to the first directory that contains `Package.swift`.
    public static func findRoot(startingAt path: String) -> URL? {
        var dir = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent()
        while true {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                return dir
            }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return nil }
            dir = parent
        }
    }

    /// The `collectord` binary: `$COLLECTORD_BIN` if set, else `.build/debug/collectord`.
    public static var collectord: URL {
        if let env = ProcessInfo.processInfo.environment["COLLECTORD_BIN"], !env.isEmpty {
            return URL(fileURLWithPath: env, relativeTo: root).standardizedFileURL
        }
        return root.appendingPathComponent(".build/debug/collectord")
    }

    /// The virtualenv's python (`make venv`): `$COLLECTOR_PYTHON` if set, else `.venv/bin/python`.
    public static var venvPython: URL {
        if let env = ProcessInfo.processInfo.environment["COLLECTOR_PYTHON"], !env.isEmpty {
            return URL(fileURLWithPath: env, relativeTo: root).standardizedFileURL
        }
        return root.appendingPathComponent(".venv/bin/python")
    }

    /// The Python client scripts used by the end-to-end tests.
    public static var clientsDirectory: URL {
        root.appendingPathComponent("Tests/EndToEndTests/clients", isDirectory: true)
    }

    /// `collectord`, or an error that says how to build it.
    public static func requireCollectord() throws -> URL {
        let url = collectord
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw TestSetupError("collectord not found at \(url.path): run `swift build` (or set COLLECTORD_BIN)")
        }
        return url
    }

    /// The venv python, or an error that says how to create it.
    public static func requireVenvPython() throws -> URL {
        let url = venvPython
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw TestSetupError("\(url.path) not found: run `make venv` (or set COLLECTOR_PYTHON)")
        }
        return url
    }
}

/// The test environment is missing something (a binary, the venv, a free port ...).
public struct TestSetupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A temporary directory removed when the last reference goes away.
public final class TemporaryDirectory: Sendable {
    public let url: URL

    public init(prefix: String = "collector-test") throws {
        let base = FileManager.default.temporaryDirectory
        let url = base.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        self.url = url
    }

    public var path: String { url.path }

    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(at: url) }
}
