import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `kill(2)`; a free function so the `kill()` method does not shadow it.
private func posixKill(_ pid: pid_t, _ sig: Int32) -> Int32 {
    kill(pid, sig)
}

/// Which captured output stream to look at.
public enum ProcessStream: Sendable, Hashable {
    case stdout
    case stderr
    /// Either stream.
    case any
}

/// A position in a process's captured output; `waitForOutput(containing:since:)` looks only
/// at output produced after it.
public struct OutputMark: Sendable, Hashable {
    public let stdoutOffset: Int
    public let stderrOffset: Int
}

/// A child process, or a test helper waiting on it, went wrong.
public struct TestProcessError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Collects everything a file descriptor produces, on a dedicated thread, until EOF.
final class OutputCapture: Sendable {
    private struct State {
        var data = Data()
        var finished = false
    }

    private let state = Mutex(State())
    private let echoPrefix: String?
    /// Guards `paused`; the reader thread waits on it while paused.
    private let pauseCondition = NSCondition()
    nonisolated(unsafe) private var paused = false

    /// `echoPrefix`: when set, every line is also copied to this process's stderr (for debugging).
    init(echoPrefix: String?) {
        self.echoPrefix = echoPrefix
    }

    /// Starts reading `pipe` until EOF. The thread keeps the pipe alive while it reads.
    func start(reading pipe: Pipe, name: String) {
        let fd = pipe.fileHandleForReading.fileDescriptor
        let thread = Thread { [self] in
            withExtendedLifetime(pipe) {
                var buffer = [UInt8](repeating: 0, count: 64 * 1024)
                while true {
                    waitWhilePaused()
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n > 0 {
                        let chunk = Data(buffer[0..<n])
                        state.withLock { $0.data.append(chunk) }
                        if let echoPrefix { Self.echo(chunk, prefix: echoPrefix) }
                    } else if n < 0 && errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
            }
            state.withLock { $0.finished = true }
        }
        thread.name = name
        thread.start()
    }

    /// Stops reading after the current `read` returns: the pipe fills up and the child's next
    /// write to it blocks (what a stuck log shipper or terminal does to a daemon).
    func pause() {
        pauseCondition.lock()
        paused = true
        pauseCondition.unlock()
    }

    /// Reads again (wakes the reader thread).
    func resume() {
        pauseCondition.lock()
        paused = false
        pauseCondition.broadcast()
        pauseCondition.unlock()
    }

    var isPaused: Bool {
        pauseCondition.lock()
        defer { pauseCondition.unlock() }
        return paused
    }

    private func waitWhilePaused() {
        pauseCondition.lock()
        while paused { pauseCondition.wait() }
        pauseCondition.unlock()
    }

    private static func echo(_ chunk: Data, prefix: String) {
        let text = String(decoding: chunk, as: UTF8.self)
        var out = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            out += "\(prefix)\(line)\n"
        }
        FileHandle.standardError.write(Data(out.utf8))
    }

    var data: Data { state.withLock { $0.data } }
    var count: Int { state.withLock { $0.data.count } }
    var isFinished: Bool { state.withLock { $0.finished } }
    var text: String { String(decoding: data, as: UTF8.self) }

    func text(from offset: Int) -> String {
        state.withLock { s in
            let start = min(max(offset, 0), s.data.count)
            return String(decoding: s.data[s.data.startIndex + start..<s.data.endIndex], as: UTF8.self)
        }
    }
}

/// A child process whose stdout and stderr are captured continuously into memory.
///
/// The process is killed (SIGKILL) when this object goes away, so no child outlives a test;
/// call `stop()` for a graceful SIGTERM shutdown and its exit code.
///
/// Set `COLLECTOR_TEST_ECHO=1` to copy the children's output to the test's stderr as it comes.
public final class ManagedProcess: Sendable {
    public let executable: URL
    public let arguments: [String]
    private let process: Process
    private let stdoutCapture: OutputCapture
    private let stderrCapture: OutputCapture

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - environment: variables set on top of this process's environment.
    ///   - removeEnvironment: names to drop from the inherited environment (a trailing `*`
    ///     matches a prefix, e.g. `OTEL_*`).
    ///   - currentDirectory: the child's working directory.
    public init(
        executable: URL,
        arguments: [String],
        environment: [String: String] = [:],
        removeEnvironment: [String] = [],
        currentDirectory: URL? = nil
    ) throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw TestSetupError("not an executable file: \(executable.path)")
        }
        self.executable = executable
        self.arguments = arguments
        let echo = ProcessInfo.processInfo.environment["COLLECTOR_TEST_ECHO"].map { !$0.isEmpty && $0 != "0" } ?? false
        let name = executable.lastPathComponent
        stdoutCapture = OutputCapture(echoPrefix: echo ? "[\(name) out] " : nil)
        stderrCapture = OutputCapture(echoPrefix: echo ? "[\(name) err] " : nil)

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = Self.environment(adding: environment, removing: removeEnvironment)
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try Self.launchWithEmptySignalMask(process)
        self.process = process
        stdoutCapture.start(reading: outPipe, name: "\(name)-stdout")
        stderrCapture.start(reading: errPipe, name: "\(name)-stderr")
    }

    /// Starts `process` from a short-lived thread whose signal mask is empty.
    ///
    /// A child inherits the spawning thread's signal mask, and Swift concurrency / Dispatch
    /// worker threads block nearly every signal: started from a test's async context, the
    /// child would have SIGHUP/SIGTERM/SIGINT blocked and never see them.
    static func launchWithEmptySignalMask(_ process: Process) throws {
        final class Outcome: Sendable {
            let error = Mutex<(any Error)?>(nil)
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var empty = sigset_t()
            sigemptyset(&empty)
            pthread_sigmask(SIG_SETMASK, &empty, nil)
            do {
                try process.run()
            } catch {
                outcome.error.withLock { $0 = error }
            }
            done.signal()
        }
        thread.name = "spawn-\(process.executableURL?.lastPathComponent ?? "process")"
        thread.start()
        done.wait()
        if let error = outcome.error.withLock({ $0 }) { throw error }
    }

    static func environment(adding: [String: String], removing: [String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for pattern in removing {
            if pattern.hasSuffix("*") {
                let prefix = String(pattern.dropLast())
                for key in env.keys where key.hasPrefix(prefix) { env.removeValue(forKey: key) }
            } else {
                env.removeValue(forKey: pattern)
            }
        }
        env.merge(adding) { _, new in new }
        return env
    }

    deinit {
        kill()
        // A paused reader would otherwise wait forever (and keep the pipe open).
        stdoutCapture.resume()
        stderrCapture.resume()
    }

    // MARK: state

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Everything written to stdout so far.
    public var stdoutText: String { stdoutCapture.text }
    /// Everything written to stderr so far.
    public var stderrText: String { stderrCapture.text }
    public var stdoutData: Data { stdoutCapture.data }

    /// The current end of both streams.
    public func mark() -> OutputMark {
        OutputMark(stdoutOffset: stdoutCapture.count, stderrOffset: stderrCapture.count)
    }

    /// Output of `stream` produced after `mark` (all of it without a mark). For `.any`,
    /// stdout then stderr.
    public func text(_ stream: ProcessStream = .stdout, since mark: OutputMark? = nil) -> String {
        switch stream {
        case .stdout: return stdoutCapture.text(from: mark?.stdoutOffset ?? 0)
        case .stderr: return stderrCapture.text(from: mark?.stderrOffset ?? 0)
        case .any: return text(.stdout, since: mark) + "\n" + text(.stderr, since: mark)
        }
    }

    /// The last `lines` lines of both streams, for failure messages.
    public func outputTail(lines: Int = 40) -> String {
        func tail(_ s: String) -> String {
            s.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
        }
        return "--- stdout (tail) ---\n\(tail(stdoutText))\n--- stderr (tail) ---\n\(tail(stderrText))"
    }

    // MARK: waiting

    /// Waits until `stream` (after `since`) contains `text`; returns that stream's text.
    /// Throws on timeout, or as soon as the process has exited without producing it.
    @discardableResult
    public func waitForOutput(
        containing needle: String,
        in stream: ProcessStream = .any,
        since mark: OutputMark? = nil,
        timeout: Duration = .seconds(10)
    ) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let exitedBefore = !process.isRunning && stdoutCapture.isFinished && stderrCapture.isFinished
            let haystack = text(stream, since: mark)
            if haystack.contains(needle) { return haystack }
            if exitedBefore {
                throw TestProcessError(
                    "\(executable.lastPathComponent) exited (status \(process.terminationStatus)) without printing "
                        + "\"\(needle)\"\n\(outputTail())")
            }
            if ContinuousClock.now >= deadline {
                throw TestProcessError(
                    "timed out after \(timeout) waiting for \"\(needle)\" from \(executable.lastPathComponent)\n"
                        + outputTail())
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until a TCP connection to `host:port` succeeds. Throws on timeout or if the process exits.
    public func waitForPort(_ port: Int, host: String = "127.0.0.1", timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if SimpleHTTP.canConnect(host: host, port: port) { return }
            if !process.isRunning {
                throw TestProcessError(
                    "\(executable.lastPathComponent) exited (status \(process.terminationStatus)) before "
                        + "\(host):\(port) accepted connections\n\(outputTail())")
            }
            if ContinuousClock.now >= deadline {
                throw TestProcessError(
                    "timed out after \(timeout) waiting for \(host):\(port) to accept connections\n\(outputTail())")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits for the process to exit and its output to be fully read. Returns the exit status,
    /// or the signal number when it was killed by a signal (see `terminatedBySignal`).
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(10)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                throw TestProcessError(
                    "\(executable.lastPathComponent) (pid \(pid)) still running after \(timeout)\n\(outputTail())")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        // The pipes reach EOF once the child (and anything that inherited them) is gone.
        let drainDeadline = ContinuousClock.now + .seconds(2)
        while !(stdoutCapture.isFinished && stderrCapture.isFinished) && ContinuousClock.now < drainDeadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        return process.terminationStatus
    }

    /// True when the process has exited because of a signal (then the status is the signal number).
    public var terminatedBySignal: Bool {
        !process.isRunning && process.terminationReason == .uncaughtSignal
    }

    // MARK: reading

    /// Stops reading the child's `stream` (`.any`: both). Once the pipe buffer (64 KiB on
    /// Linux) is full, the child's writes to it block until `resumeReading`. Output already
    /// read stays available. Resume before `stop()`: a child blocked in a write cannot finish a
    /// graceful shutdown.
    public func pauseReading(_ stream: ProcessStream = .stdout) {
        if stream != .stderr { stdoutCapture.pause() }
        if stream != .stdout { stderrCapture.pause() }
    }

    /// Reads `stream` again (`.any`: both); what piled up in the pipe arrives at once.
    public func resumeReading(_ stream: ProcessStream = .stdout) {
        if stream != .stderr { stdoutCapture.resume() }
        if stream != .stdout { stderrCapture.resume() }
    }

    /// True while `pauseReading(.stdout)` is in effect.
    public var isStdoutPaused: Bool { stdoutCapture.isPaused }

    /// Waits for the process to exit and returns everything it printed, like
    /// `CommandRunner.run` does for a process it started (for clients run in the background).
    /// On timeout the process is killed and an error thrown with its output so far.
    public func result(timeout: Duration = .seconds(60)) async throws -> CommandResult {
        let status: Int32
        do {
            status = try await waitForExit(timeout: timeout)
        } catch {
            kill()
            throw TestProcessError(
                "\(([executable.path] + arguments).joined(separator: " ")) timed out after \(timeout)\n"
                    + outputTail(lines: 80))
        }
        return CommandResult(exitCode: status, terminatedBySignal: terminatedBySignal, stdout: stdoutText,
                             stderr: stderrText)
    }

    // MARK: signals

    /// Sends `sig` (SIGHUP, SIGTERM, SIGKILL, ...) if the process is still running.
    public func signal(_ sig: Int32) {
        guard process.isRunning else { return }
        _ = posixKill(process.processIdentifier, sig)
    }

    /// SIGTERM, then SIGKILL if it has not exited after `timeout`. Returns the exit status.
    @discardableResult
    public func stop(timeout: Duration = .seconds(10)) async -> Int32 {
        signal(SIGTERM)
        if let status = try? await waitForExit(timeout: timeout) { return status }
        signal(SIGKILL)
        return (try? await waitForExit(timeout: .seconds(5))) ?? -1
    }

    /// SIGKILL and a short blocking wait; safe to call more than once (used by deinit).
    public func kill() {
        guard process.isRunning else { return }
        _ = posixKill(process.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(2_000) }
    }
}
