import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Transport

/// Runs blocking work (socket clients, subprocesses) off the cooperative thread pool.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Starts an HTTP server on 127.0.0.1 with an ephemeral port.
func startHTTPServer(limits: HTTPServerLimits = HTTPServerLimits(), handler: @escaping HTTPHandler) throws -> (HTTPServer, Int) {
    let server = HTTPServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), limits: limits, handler: handler)
    try server.start()
    return (server, server.boundPort!)
}

/// Starts a gRPC server on 127.0.0.1 with an ephemeral port.
func startGRPCServer(maxMessageBytes: Int = GRPCServer.defaultMaxMessageBytes, handler: @escaping GRPCHandler) throws -> (GRPCServer, Int) {
    let server = GRPCServer(endpoint: Endpoint(host: "127.0.0.1", port: 0), maxMessageBytes: maxMessageBytes, handler: handler)
    try server.start()
    return (server, server.boundPort!)
}

/// An echo-ish handler: answers `200` with "METHOD target body-length" as text.
let describingHandler: HTTPHandler = { request, respond in
    respond(.text(200, "\(request.method) \(request.target) \(request.body.count)"))
}

/// Runs an executable and returns (exit status, stdout, stderr), with a timeout.
func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 20) throws -> (Int32, String, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer.cancel()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// Writes bytes to a fresh temporary file and returns its path.
func temporaryFile(_ bytes: [UInt8]) throws -> String {
    let path = NSTemporaryDirectory() + "transport-test-\(UUID().uuidString)"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

/// Deterministic pseudo-random bytes.
func patternBytes(_ count: Int, seed: UInt64 = 0x9E3779B97F4A7C15) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBufferPointer { buffer in
        for index in buffer.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            buffer[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
    }
    return bytes
}

/// Holds handler `respond` callbacks until the test releases them, so tests can act while
/// requests are known to be in flight (no sleeps). Thread-safe.
final class HeldResponses: Sendable {
    private let pending = Mutex<[@Sendable () -> Void]>([])

    /// Registers a response to send later.
    func hold(_ send: @escaping @Sendable () -> Void) {
        pending.withLock { $0.append(send) }
    }

    var count: Int { pending.withLock { $0.count } }

    /// Waits (polling) until `count` responses are held.
    func waitFor(_ count: Int, timeout: Duration = .seconds(20)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while self.count < count {
            if clock.now > deadline { throw TestFailure("timed out waiting for \(count) held responses") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Sends every held response.
    func releaseAll() {
        let all = pending.withLock { held -> [@Sendable () -> Void] in
            defer { held = [] }
            return held
        }
        for send in all { send() }
    }
}

/// Polls `condition` every 10 ms until it holds (an event on another thread, not a timing
/// assertion); fails after `seconds`.
func waitUntil(_ what: String, seconds: Double = 10, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        guard Date() < deadline else { throw TestFailure("timed out waiting for: \(what)") }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
}
