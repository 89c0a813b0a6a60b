import CollectorTesting
import Foundation
import Testing

extension E2E {
    /// A log file the collector may not read (mode 000, as root-owned container logs are to an
    /// unprivileged agent): an error naming it, logged once, and a counted read error, while the
    /// other files keep flowing. Root reads every file whatever its mode, so when the tests run
    /// as root collectord is started as `nobody` (util-linux `setpriv`), to get a real EACCES.
    @Suite("LogPermission")
    struct LogPermission {
        @Test("a file that cannot be read is reported once and counted; the others keep flowing")
        func permissionDeniedFile() async throws {
            let work = try TemporaryDirectory(prefix: "log-permission")
            let logs = work.file("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let good = logs.appendingPathComponent("good.log")
            let secret = logs.appendingPathComponent("secret.log")
            try Data("good 1\ngood 2\n".utf8).write(to: good)
            try Data("top secret\n".utf8).write(to: secret)
            chmod(secret.path, 0)
            let port = try FreePort.allocate()
            let config = """
                receivers:
                  filelog:
                    include: [\(logs.path)/*.log]
                    start_at: beginning
                    poll_interval: 50ms
                    storage: \(work.file("state").path)
                exporters:
                  debug:
                    verbosity: normal
                service:
                  telemetry:
                    metrics:
                      address: 127.0.0.1:\(port)
                  pipelines:
                    logs:
                      receivers: [filelog]
                      exporters: [debug]
                """
            try Data(config.utf8).write(to: work.file("config.yaml"))
            let collectord = try RepoPaths.requireCollectord()
            let asRoot = getuid() == 0
            if asRoot {
                // nobody needs to write its checkpoints and to read the logs and the config.
                for path in [work.path, logs.path] { chmod(path, 0o777) }
                chmod(work.file("config.yaml").path, 0o644)
                chmod(good.path, 0o644)
            }
            let process = try ManagedProcess(
                executable: asRoot ? URL(fileURLWithPath: "/usr/bin/setpriv") : collectord,
                arguments: (asRoot ? ["--reuid=65534", "--regid=65534", "--clear-groups", collectord.path] : [])
                    + ["--config", work.file("config.yaml").path],
                currentDirectory: work.url)
            defer { process.kill() }
            _ = try await process.waitForOutput(containing: "collectord started", in: .stderr, timeout: .seconds(20))
            _ = try await process.waitForOutput(containing: #"body=Str("good 2")"#, in: .stdout, timeout: .seconds(10))

            // More lines in the readable file still flow, several polls later.
            try await Task.sleep(for: .milliseconds(300))
            let handle = try FileHandle(forWritingTo: good)
            handle.seekToEndOfFile()
            handle.write(Data("good 3\n".utf8))
            try handle.close()
            _ = try await process.waitForOutput(containing: #"body=Str("good 3")"#, in: .stdout, timeout: .seconds(10))

            let stdout = process.text(.stdout)
            #expect(!stdout.contains("top secret"))
            let errors = process.text(.stderr).split(separator: "\n").filter { $0.contains("secret.log") }
            #expect(errors.count == 1, "reported once: \(errors)")
            #expect(errors.first?.contains("Permission denied") == true, "\(errors)")
            let metrics = try await SimpleHTTP.metrics(port: port)
            #expect(metrics.sum("collectord_filelog_read_errors_total") == 1)
            #expect(metrics.sum("otelcol_receiver_accepted_log_records_total") == 3)
            #expect(await process.stop() == 0, "\(process.outputTail())")
        }
    }
}
