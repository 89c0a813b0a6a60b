import Foundation

/// A running `collectord --config FILE`, with its output captured.
///
/// ```swift
/// let port = try FreePort.allocate()
/// let collector = try CollectorProcess(config: """
///     receivers: { otlp: { protocols: { grpc: { endpoint: 127.0.0.1:\(port) } } } }
///     ...
///     """)
/// try await collector.waitForPort(port)
/// ...
/// #expect(await collector.stop() == 0)
/// ```
/// The config is written to `config.yaml` in a work directory, which is also the process's
/// current directory (relative paths in the config land there). Without an explicit
/// `workDirectory` a temporary one is created and removed with this object. The process is
/// killed when this object goes away.
public final class CollectorProcess: Sendable {
    public let configURL: URL
    public let workDirectory: URL
    public let process: ManagedProcess
    private let ownedDirectory: TemporaryDirectory?

    /// Writes `config` and starts `collectord [arguments] --config FILE [extraArguments]`.
    /// - Parameters:
    ///   - binary: defaults to `RepoPaths.collectord` (`$COLLECTORD_BIN` or `.build/debug/collectord`).
    ///   - workDirectory: keep the config and relative data paths here (e.g. to restart a
    ///     collector on the same data after a crash); the caller owns it.
    ///   - environment: extra environment variables (for `${env:VAR}` in configs, say).
    public init(
        config: String,
        binary: URL? = nil,
        arguments: [String] = [],
        extraArguments: [String] = [],
        workDirectory: URL? = nil,
        environment: [String: String] = [:]
    ) throws {
        let bin = try binary ?? RepoPaths.requireCollectord()
        if let workDirectory {
            try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
            self.workDirectory = workDirectory
            ownedDirectory = nil
        } else {
            let dir = try TemporaryDirectory(prefix: "collectord-test")
            self.workDirectory = dir.url
            ownedDirectory = dir
        }
        configURL = self.workDirectory.appendingPathComponent("config.yaml")
        try Data(config.utf8).write(to: configURL, options: .atomic)
        process = try ManagedProcess(
            executable: bin,
            arguments: arguments + ["--config", configURL.path] + extraArguments,
            environment: environment,
            currentDirectory: self.workDirectory)
    }

    deinit { process.kill() }

    // MARK: forwarding

    public var pid: Int32 { process.pid }
    public var isRunning: Bool { process.isRunning }
    public var stdoutText: String { process.stdoutText }
    public var stderrText: String { process.stderrText }
    public func mark() -> OutputMark { process.mark() }
    public func text(_ stream: ProcessStream = .stdout, since mark: OutputMark? = nil) -> String {
        process.text(stream, since: mark)
    }
    public func outputTail(lines: Int = 40) -> String { process.outputTail(lines: lines) }

    /// Stops reading the collector's stdout, so the debug exporter's writes block once the pipe
    /// is full: its queue fills, the pipeline holds and the receivers start refusing requests.
    /// Call `resumeStdout()` before `stop()`.
    public func pauseStdout() { process.pauseReading(.stdout) }

    /// Reads stdout again; the blocked exporter continues.
    public func resumeStdout() { process.resumeReading(.stdout) }

    @discardableResult
    public func waitForOutput(
        containing needle: String,
        in stream: ProcessStream = .any,
        since mark: OutputMark? = nil,
        timeout: Duration = .seconds(10)
    ) async throws -> String {
        try await process.waitForOutput(containing: needle, in: stream, since: mark, timeout: timeout)
    }

    public func waitForPort(_ port: Int, host: String = "127.0.0.1", timeout: Duration = .seconds(10)) async throws {
        try await process.waitForPort(port, host: host, timeout: timeout)
    }

    /// Sends SIGHUP, SIGTERM, SIGKILL, ...
    public func signal(_ sig: Int32) { process.signal(sig) }

    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(10)) async throws -> Int32 {
        try await process.waitForExit(timeout: timeout)
    }

    public var terminatedBySignal: Bool { process.terminatedBySignal }

    /// Graceful stop: SIGTERM, then SIGKILL after `timeout`. Returns the exit status.
    @discardableResult
    public func stop(timeout: Duration = .seconds(10)) async -> Int32 { await process.stop(timeout: timeout) }

    /// SIGKILL now (idempotent; also done on deinit).
    public func terminate() { process.kill() }

    // MARK: config

    /// Replaces the config file's contents (atomically: readers never see half a file).
    public func writeConfig(_ config: String) throws {
        try Data(config.utf8).write(to: configURL, options: .atomic)
    }

    /// Writes a new config and sends SIGHUP; returns the output mark from just before the signal,
    /// so `waitForOutput(containing:since:)` sees only what the reload printed.
    @discardableResult
    public func reload(config: String) throws -> OutputMark {
        try writeConfig(config)
        let mark = process.mark()
        process.signal(SIGHUP)
        return mark
    }

    /// Runs `collectord validate --config FILE` on `config` (a one-shot command, not a daemon).
    public static func validate(config: String, binary: URL? = nil, timeout: Duration = .seconds(30)) async throws
        -> CommandResult
    {
        let bin = try binary ?? RepoPaths.requireCollectord()
        let dir = try TemporaryDirectory(prefix: "collectord-validate")
        let file = dir.file("config.yaml")
        try Data(config.utf8).write(to: file, options: .atomic)
        let result = try await CommandRunner.run(
            bin, arguments: ["validate", "--config", file.path], currentDirectory: dir.url, timeout: timeout)
        withExtendedLifetime(dir) {}
        return result
    }
}
