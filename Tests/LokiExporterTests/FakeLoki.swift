import Foundation
import Glibc
import Synchronization
import CollectorTesting

/// Runs `fake_loki.py` (an independent decoder of Loki's wire format) and reads what it got.
final class FakeLoki {
    struct Entry: Decodable, Equatable {
        var ts: UInt64
        var line: String
        var metadata: [[String]]
    }
    struct Stream: Decodable, Equatable {
        var labels: String
        var entries: [Entry]
    }
    struct Request: Decodable {
        var status: Int
        var tenant: String?
        var content_type: String
        var headers: [String: String]
        var body: String
        var time: Double
        var streams: [Stream]
        var peer: Int?
    }

    let port: Int
    let directory: String
    private var process: Process?

    /// A fake on a free port, not started yet.
    init() throws {
        port = try FreePort.allocate()
        directory = NSTemporaryDirectory() + "fake-loki-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    private(set) var tls = false
    var endpoint: String { tls ? "https://localhost:\(port)/loki/api/v1/push" : "http://127.0.0.1:\(port)/loki/api/v1/push" }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let certificate = fixtures.appendingPathComponent("test-cert.pem").path

    /// Starts the server; `script` lists the first answers ("429:1,500,400"), then 204s. With
    /// `tls`, it serves HTTPS with the fixture certificate for localhost.
    func start(script: String = "", tls: Bool = false) throws {
        self.tls = tls
        try? FileManager.default.removeItem(atPath: directory + "/ready")
        let p = Process()
        let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.venv/bin/python").standardized.path
        p.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3")
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fake_loki.py").path
        p.arguments = [path, "--port", String(port), "--dir", directory, "--script", script]
            + (tls ? ["--tls-cert", Self.certificate, "--tls-key", Self.fixtures.appendingPathComponent("test-key.pem").path] : [])
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: directory + "/ready") {
            guard Date() < deadline, p.isRunning else { throw FakeError("fake Loki did not start") }
            usleep(20_000)
        }
    }

    func stop() {
        guard let p = process else { return }
        // SIGKILL: the child may inherit a mask blocking SIGTERM from the test runner's thread.
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Every request received so far, in order.
    func requests() -> [Request] {
        guard let text = try? String(contentsOfFile: directory + "/received.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    /// Lines of every accepted entry, in arrival order.
    func acceptedLines() -> [String] {
        requests().filter { (200..<300).contains($0.status) }.flatMap { $0.streams.flatMap { $0.entries.map(\.line) } }
    }

    /// Waits until `condition` holds (or `seconds` pass); returns whether it held.
    @discardableResult
    func wait(seconds: Double = 15, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

struct FakeError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Collects log lines for assertions.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
