import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// Log files -> filelog -> batch -> loki (with a disk queue) -> a fake Loki that decodes the
    /// real wire format (snappy + logproto.PushRequest) with its own Python decoders. Loki first
    /// answers 500 and 429, and the file is rename-rotated while the collector runs: every line
    /// must arrive exactly once, also across a reload.
    @Suite("LogsToLoki")
    struct LogsToLoki {
        struct Request: Decodable {
            struct Stream: Decodable {
                struct Entry: Decodable { let ts: UInt64; let line: String }
                let labels: String
                let entries: [Entry]
            }
            let status: Int
            let streams: [Stream]
        }

        func received(_ dir: TemporaryDirectory) -> [Request] {
            guard let text = try? String(contentsOf: dir.file("loki/received.jsonl"), encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
        }

        @Test("every line of a rotated file reaches Loki exactly once, through 500 and 429 answers")
        func rotatedFileToLoki() async throws {
            let work = try TemporaryDirectory(prefix: "logs-loki")
            let logs = work.file("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: work.file("loki"), withIntermediateDirectories: true)
            let first = (1...200).map { String(format: "line %04d", $0) }
            try Data((first.joined(separator: "\n") + "\n").utf8).write(to: logs.appendingPathComponent("app.log"))

            let ports = try FreePort.allocate(count: 2)  // loki, metrics
            let loki = try ManagedProcess(
                executable: try RepoPaths.requireVenvPython(),
                arguments: [RepoPaths.root.appendingPathComponent("Tests/LokiExporterTests/fake_loki.py").path,
                            "--port", String(ports[0]), "--dir", work.file("loki").path, "--script", "500,429:1"],
                currentDirectory: work.url)
            defer { loki.kill() }
            try await waitUntil("fake Loki ready", timeout: .seconds(20)) {
                FileManager.default.fileExists(atPath: work.file("loki/ready").path)
            }

            let config = """
                receivers:
                  filelog:
                    include: [\(logs.path)/app.log*]
                    start_at: beginning
                    poll_interval: 50ms
                    storage: \(work.file("state").path)
                processors:
                  batch:
                    timeout: 50ms
                exporters:
                  loki:
                    endpoint: http://127.0.0.1:\(ports[0])/loki/api/v1/push
                    labels:
                      attributes: [log.file.name]
                    batch_timeout: 100ms
                    retry_on_failure:
                      initial_interval: 100ms
                      max_interval: 500ms
                    sending_queue:
                      storage: \(work.file("queue").path)
                service:
                  telemetry:
                    logs:
                      level: debug
                    metrics:
                      address: 127.0.0.1:\(ports[1])
                  pipelines:
                    logs:
                      receivers: [filelog]
                      processors: [batch]
                      exporters: [loki]
                """
            let collector = try CollectorProcess(config: config, workDirectory: work.file("run"))
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)

            // Rotate by rename while running, then keep writing to a new file of the same name.
            try await Task.sleep(for: .milliseconds(300))
            try FileManager.default.moveItem(at: logs.appendingPathComponent("app.log"),
                                             to: logs.appendingPathComponent("app.log.1"))
            let second = (201...300).map { String(format: "line %04d", $0) }
            try Data((second.joined(separator: "\n") + "\n").utf8).write(to: logs.appendingPathComponent("app.log"))

            // A reload that changes the batch processor but not the loki exporter keeps the
            // running exporter (and its disk queue): a second instance on the same queue
            // directory would be refused, and would send batches twice. It also changes the
            // filelog receiver, whose successor must start from the checkpoint the old one
            // leaves, or lines would arrive twice.
            let reloaded = config.replacingOccurrences(of: "timeout: 50ms", with: "timeout: 60ms")
                .replacingOccurrences(of: "poll_interval: 50ms", with: "poll_interval: 40ms")
            let mark = try collector.reload(config: reloaded)
            try await collector.waitForOutput(containing: "configuration reloaded", in: .stderr, since: mark)
            #expect(!collector.text(.stderr, since: mark).contains("in use"), "\(collector.outputTail())")

            try await waitUntil("300 lines delivered", timeout: .seconds(60)) {
                received(work).filter { $0.status == 204 }.flatMap(\.streams).flatMap(\.entries).count >= 300
            }
            // `service.telemetry.logs.level: debug` reaches the components' loggers.
            #expect(collector.text(.stderr).contains("\tdebug\treceiver/filelog: watching "), "\(collector.outputTail())")
            let requests = received(work)
            #expect(requests.prefix(2).map(\.status) == [500, 429], "Loki's scripted failures were answered")
            let delivered = requests.filter { $0.status == 204 }.flatMap(\.streams)
            let lines = delivered.flatMap(\.entries).map(\.line)
            #expect(lines.count == 300, "duplicates: \(lines.count - Set(lines).count)")
            #expect(Set(lines) == Set(first + second))
            #expect(Set(delivered.map(\.labels)).isSubset(of: ["{log_file_name=\"app.log\"}", "{log_file_name=\"app.log.1\"}"]),
                    "\(Set(delivered.map(\.labels)))")
            // Within each stream, entries are in time order.
            for stream in delivered {
                let times = stream.entries.map(\.ts)
                #expect(times == times.sorted())
            }
            #expect(await collector.stop() == 0, "\(collector.outputTail())")
        }
    }
}
