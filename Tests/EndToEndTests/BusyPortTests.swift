import CollectorTesting
import Foundation
import Glibc
import Testing

extension E2E {
    /// A port another process holds, for the metrics endpoint, `health_check` or `query`: the
    /// collector refuses to start (exit 1, the endpoint named), as the OTel Collector does,
    /// instead of running without it (issue 11).
    @Suite("Busy ports")
    struct BusyPorts {
        @Test("a busy metrics, health_check or query port stops the start with a clear error", arguments: ["metrics", "health", "query"])
        func busyPort(which: String) async throws {
            let ports = try Ports()
            let query = try FreePort.allocate(count: 1)[0]
            let busy = ["metrics": ports.metrics, "health": ports.health, "query": query][which]!
            let fd = try FreePort.occupy(busy)
            defer { Glibc.close(fd) }
            let work = try TemporaryDirectory(prefix: "busy-port")
            let yaml = TestConfig(ports: ports).yaml
                .replacingOccurrences(of: "extensions:\n  health_check:", with: "extensions:\n  query:\n    endpoint: 127.0.0.1:\(query)\n  health_check:")
                .replacingOccurrences(of: "extensions: [health_check]", with: "extensions: [health_check, query]")
                .replacingOccurrences(of: "exporters:\n  debug:", with: "exporters:\n  store:\n    directory: \(work.file("data").path)\n  debug:")
            let collector = try CollectorProcess(config: yaml)
            let status = try await collector.waitForExit(timeout: .seconds(20))
            #expect(status == 1, "\(collector.stderrText)")
            #expect(collector.stderrText.contains("cannot start") && collector.stderrText.contains("127.0.0.1:\(busy)"), "\(collector.stderrText)")
        }
    }
}
