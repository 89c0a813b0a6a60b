import Foundation

/// What a finished command printed and how it ended.
public struct CommandResult: Sendable {
    /// Exit status, or the signal number when `terminatedBySignal`.
    public let exitCode: Int32
    public let terminatedBySignal: Bool
    public let stdout: String
    public let stderr: String

    public init(exitCode: Int32, terminatedBySignal: Bool = false, stdout: String, stderr: String) {
        self.exitCode = exitCode
        self.terminatedBySignal = terminatedBySignal
        self.stdout = stdout
        self.stderr = stderr
    }

    public var succeeded: Bool { exitCode == 0 && !terminatedBySignal }

    /// stdout parsed as one JSON object.
    public func jsonObject() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw TestProcessError("stdout is not a JSON object:\n\(stdout)\n--- stderr ---\n\(stderr)")
        }
        return object
    }

    /// stdout decoded as `T` (e.g. `ClientReport`).
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(stdout.utf8))
        } catch {
            throw TestProcessError("cannot decode stdout as \(T.self): \(error)\n\(stdout)\n--- stderr ---\n\(stderr)")
        }
    }
}

/// Runs a command to completion with captured output.
public enum CommandRunner {
    /// Runs `executable` and waits for it; on timeout the process is killed and an error thrown
    /// (with the output so far). A non-zero exit is not an error: look at `exitCode`.
    public static func run(
        _ executable: URL,
        arguments: [String] = [],
        environment: [String: String] = [:],
        removeEnvironment: [String] = [],
        currentDirectory: URL? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> CommandResult {
        let process = try ManagedProcess(
            executable: executable, arguments: arguments, environment: environment,
            removeEnvironment: removeEnvironment, currentDirectory: currentDirectory)
        let status: Int32
        do {
            status = try await process.waitForExit(timeout: timeout)
        } catch {
            process.kill()
            throw TestProcessError(
                "\(([executable.path] + arguments).joined(separator: " ")) timed out after \(timeout)\n"
                    + process.outputTail(lines: 80))
        }
        return CommandResult(
            exitCode: status, terminatedBySignal: process.terminatedBySignal,
            stdout: process.stdoutText, stderr: process.stderrText)
    }
}
