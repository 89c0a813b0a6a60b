import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// The rotation torture test: filelog -> batch -> loki (disk queue) -> a fake Loki that decodes
    /// the real wire format (snappy + logproto.PushRequest) with its own Python decoders.
    ///
    /// `log_writer.py` writes numbered lines at a steady rate and rotates its file every
    /// `rotateEvery` lines, alternating rename rotation and copytruncate, keeping every rotated
    /// file. Midway Loki goes down; during the outage the collector is killed with `kill -9`,
    /// started again on the same checkpoint and disk queue while rotations go on without it,
    /// and later Loki comes back. It proves that no line written is ever lost, that every line
    /// delivered is one that was written, byte for byte, and that lines are delivered twice only
    /// around the crash (batches in flight at the `kill -9`): outside that window, none. The
    /// fake Loki is stopped cleanly (SIGTERM: a push is recorded only if it was answered), so
    /// every duplicate it records is one the collector sent twice. It prints the exact counts
    /// on a line starting with "torture:".
    @Suite("LogTorture")
    struct LogTorture {
        static let totalLines = 27_000
        static let rate = 3_000
        static let rotateEvery = 500
        /// How far (in lines written, 0.5 s) before the crash a duplicate may be: the collector's
        /// lag behind the writer plus the batches not yet checkpointed (measured: under 300 lines,
        /// also with both cores busy); also the bound on the number of duplicates.
        static let crashWindow = 1_500

        /// What the writer writes for `seq` (see `line()` in log_writer.py), without the newline.
        static func line(_ seq: Int) -> String {
            "seq=" + String(format: "%07d", seq) + " " + String(repeating: "z", count: seq % 64) + " end"
        }

        struct Request: Decodable {
            struct Stream: Decodable {
                struct Entry: Decodable { let line: String }
                let entries: [Entry]
            }
            let status: Int
            let streams: [Stream]
        }

        struct WriterReport: Decodable {
            let lines: Int
            let renames: Int
            let copytruncates: Int
            let files: Int
            let seconds: Double
        }

        /// Lines of every accepted (2xx) push, in arrival order; how many pushes were accepted and
        /// how many answered otherwise.
        static func delivered(_ dir: URL) -> (lines: [String], pushes: Int, failed: Int) {
            guard let text = try? String(contentsOf: dir.appendingPathComponent("received.jsonl"), encoding: .utf8)
            else { return ([], 0, 0) }
            let requests = text.split(separator: "\n").compactMap {
                try? JSONDecoder().decode(Request.self, from: Data($0.utf8))
            }
            let accepted = requests.filter { (200..<300).contains($0.status) }
            return (accepted.flatMap(\.streams).flatMap(\.entries).map(\.line), accepted.count,
                    requests.count - accepted.count)
        }

        /// Sorted numbers as ranges: "3...7, 12, 20...21" (the first 10 ranges), or "none".
        static func ranges(_ sorted: [Int]) -> String {
            guard !sorted.isEmpty else { return "none" }
            var out: [ClosedRange<Int>] = []
            for n in sorted {
                if let last = out.last, last.upperBound + 1 == n { out[out.count - 1] = last.lowerBound...n } else { out.append(n...n) }
            }
            let text = out.prefix(10).map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)...\($0.upperBound)" }
            return text.joined(separator: ", ") + (out.count > 10 ? ", ..." : "")
        }

        /// The last "progress N" the writer printed.
        static func progress(_ writer: ManagedProcess) -> Int {
            let last = writer.stdoutText.split(separator: "\n").last { $0.hasPrefix("progress ") }
            return last.flatMap { Int($0.dropFirst("progress ".count)) } ?? 0
        }

        static func waitForProgress(_ writer: ManagedProcess, _ lines: Int) async throws {
            try await waitUntil("writer at line \(lines) (now \(progress(writer)))", timeout: .seconds(60)) {
                progress(writer) >= lines
            }
        }

        /// Starts fake_loki.py on `port`, appending to `dir`/received.jsonl.
        static func startLoki(port: Int, dir: URL) async throws -> ManagedProcess {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("ready"))
            let loki = try ManagedProcess(
                executable: try RepoPaths.requireVenvPython(),
                arguments: [RepoPaths.root.appendingPathComponent("Tests/LokiExporterTests/fake_loki.py").path,
                            "--port", String(port), "--dir", dir.path],
                currentDirectory: dir)
            try await waitUntil("fake Loki ready", timeout: .seconds(20)) {
                FileManager.default.fileExists(atPath: dir.appendingPathComponent("ready").path)
            }
            return loki
        }

        static func config(logs: URL, work: TemporaryDirectory, lokiPort: Int, metricsPort: Int) -> String {
            """
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
                endpoint: http://127.0.0.1:\(lokiPort)/loki/api/v1/push
                batch_timeout: 100ms
                retry_on_failure:
                  initial_interval: 100ms
                  max_interval: 300ms
                sending_queue:
                  storage: \(work.file("queue").path)
            service:
              telemetry:
                metrics:
                  address: 127.0.0.1:\(metricsPort)
              pipelines:
                logs:
                  receivers: [filelog]
                  processors: [batch]
                  exporters: [loki]
            """
        }

        @Test("rename + copytruncate rotations, Loki down, kill -9 and restart: no line lost, duplicates only at the crash")
        func rotationTorture() async throws {
            let started = ContinuousClock.now
            let work = try TemporaryDirectory(prefix: "log-torture")
            let logs = work.file("logs"), lokiDir = work.file("loki")
            for dir in [logs, lokiDir] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
            let ports = try FreePort.allocate(count: 2)  // loki, metrics
            let config = Self.config(logs: logs, work: work, lokiPort: ports[0], metricsPort: ports[1])

            var loki = try await Self.startLoki(port: ports[0], dir: lokiDir)
            let first = try CollectorProcess(config: config, workDirectory: work.file("run"))
            try await first.waitForOutput(containing: "collectord started", in: .stderr)

            let writer = try PythonClient.start(script: "log_writer.py", args: [
                "--dir", logs.path, "--lines", String(Self.totalLines), "--rate", String(Self.rate),
                "--rotate-every", String(Self.rotateEvery),
            ])
            defer { writer.kill() }

            // Loki goes down (cleanly: a push is either answered and recorded, or neither).
            try await Self.waitForProgress(writer, Self.totalLines * 25 / 100)
            await loki.stop()
            let downAt = Self.progress(writer)

            // kill -9 during the outage; rotations go on while the collector is down.
            try await Self.waitForProgress(writer, Self.totalLines * 40 / 100)
            #expect(first.stderrText.contains("Loki push failed"), "the outage was not noticed\n\(first.outputTail())")
            first.signal(SIGKILL)
            let killedAt = Self.progress(writer)
            _ = try await first.waitForExit()
            #expect(first.terminatedBySignal)

            try await Self.waitForProgress(writer, Self.totalLines * 50 / 100)
            let second = try CollectorProcess(config: config, workDirectory: work.file("run"))
            let restartedAt = Self.progress(writer)
            try await second.waitForOutput(containing: "collectord started", in: .stderr)
            #expect(second.stderrText.contains("resuming"), "the checkpoint was not used\n\(second.outputTail())")
            #expect(second.stderrText.contains("to send"), "the disk queue was empty after the crash\n\(second.outputTail())")

            // Loki comes back on the same port.
            try await Self.waitForProgress(writer, Self.totalLines * 65 / 100)
            loki = try await Self.startLoki(port: ports[0], dir: lokiDir)
            let upAt = Self.progress(writer)

            let result = try await writer.result(timeout: .seconds(120))
            #expect(result.exitCode == 0, "\(result.stderr)")
            let report = try JSONDecoder().decode(
                WriterReport.self, from: Data(result.stdout.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8))
            try #require(report.lines == Self.totalLines)
            #expect(report.renames + report.copytruncates == (Self.totalLines - 1) / Self.rotateEvery, "\(report)")

            // Not thrown on timeout: the accounting below says what is missing.
            let complete: Void? = try? await waitUntil("every line delivered", timeout: .seconds(45), interval: .milliseconds(300)) {
                Set(Self.delivered(lokiDir).lines).count >= report.lines
            }
            #expect(complete != nil, "not every line arrived within 45 s of the writer's end")
            #expect(await second.stop() == 0, "\(second.outputTail())")
            await loki.stop()

            // Exact accounting.
            let (lines, pushes, failed) = Self.delivered(lokiDir)
            var counts: [Int: Int] = [:]
            var foreign: [String] = []
            for line in lines {
                if line.hasPrefix("seq="), let seq = Int(line.dropFirst(4).prefix(7)), (1...report.lines).contains(seq),
                   line == Self.line(seq) {
                    counts[seq, default: 0] += 1
                } else {
                    foreign.append(line)
                }
            }
            let missing = (1...report.lines).filter { counts[$0] == nil }
            let duplicated = counts.filter { $0.value > 1 }.keys.sorted()
            let extra = counts.values.reduce(0) { $0 + max($1 - 1, 0) }
            // Lines written after the kill were never read by the killed collector.
            let window = (killedAt - Self.crashWindow)...(killedAt + 1_000)
            let outside = duplicated.filter { !window.contains($0) }
            let wall = ContinuousClock.now - started
            print("""
                torture: written \(report.lines) lines in \(report.seconds)s (\(report.renames) renames, \
                \(report.copytruncates) copytruncates, \(report.files) files); delivered \(lines.count) in \(pushes) \
                accepted pushes (\(failed) answered otherwise); missing \(missing.count), duplicated \(extra) \
                (\(duplicated.count) distinct lines: seq \(Self.ranges(duplicated))), \
                foreign \(foreign.count); Loki down at line \(downAt), kill -9 at \(killedAt), restart at \
                \(restartedAt), Loki up at \(upAt); wall \(wall)
                """)
            if !missing.isEmpty || !outside.isEmpty {
                // What the filelog receiver saw of the rotations, and when the writer made them.
                let log = (first.stderrText + second.stderrText).split(separator: "\n").filter { $0.contains("receiver/filelog") }
                let rotations = result.stdout.split(separator: "\n").filter { $0.hasPrefix("rotated") }
                print("torture: filelog log:\n\(log.joined(separator: "\n"))\ntorture: writer:\n\(rotations.joined(separator: "\n"))")
            }
            #expect(missing.isEmpty, "\(missing.count) lines missing: seq \(Self.ranges(missing))")
            #expect(foreign.isEmpty, "\(foreign.count) delivered lines were never written: \(foreign.prefix(5))")
            #expect(extra <= Self.crashWindow, "\(extra) duplicates")
            #expect(outside.isEmpty, "duplicates away from the crash at line \(killedAt): seq \(Self.ranges(outside))")
        }
    }
}
