import CollectorTesting
import Foundation
import Glibc
import Testing

extension E2E {
    /// More idle connections than descriptors (issue 11: 1,100 idle connections against
    /// `ulimit -n 1024` crashed the process inside libdispatch): collectord keeps its client
    /// connections below the descriptor limit, closes the extra ones at once and counts them,
    /// stays alive, and serves again when they go.
    @Suite("Descriptor limit")
    struct DescriptorLimit {
        @Test("more idle connections than descriptors: refused and counted, the process lives and serves again")
        func idleFlood() async throws {
            let ports = try Ports()
            let collectord = try RepoPaths.requireCollectord()
            // A hard limit of 256 descriptors (so raising the soft one to the hard one gains nothing).
            let collector = try CollectorProcess(
                config: TestConfig(ports: ports).yaml, binary: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", "ulimit -n 256 && exec \"$0\" \"$@\"", collectord.path])
            try await collector.waitForOutput(containing: "collectord started", in: .stderr)
            #expect(collector.stderrText.contains("256 descriptors, at most 192 client connections"), "\(collector.stderrText)")
            try await collector.waitForPort(ports.grpc)

            var idle: [RawConnection] = []
            for _ in 0..<300 { idle.append(try RawConnection(port: ports.grpc)) }
            // The connections over the limit are closed by the collector.
            try await waitUntil("extra connections closed", timeout: .seconds(20)) {
                idle.filter(\.peerClosed).count >= 300 - 192
            }
            #expect(kill(collector.pid, 0) == 0, "collectord died:\n\(collector.outputTail())")
            for c in idle { c.close() }
            idle = []

            // Serving again: an SDK export goes through and the refusals were counted.
            _ = try await runSDK(protocol: "grpc", ports: ports)
            let m = try await scrape(ports)
            #expect(m.sum("collectord_server_connections_refused_total", labels: [:]) >= Double(300 - 192))
            #expect(m.sum("collectord_server_connections_limit", labels: [:]) == 192)
            #expect(kill(collector.pid, 0) == 0)
            await collector.stop(timeout: .seconds(10))
        }
    }
}
