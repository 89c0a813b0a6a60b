import Testing
@testable import OTLPCodec

/// The codecs share one schema, one validator table and one arena pool across threads.
@Suite struct ConcurrencyTests {
    @Test func concurrentUseGivesTheSameResults() async throws {
        let traces = try Fixture.bytes("traces.pb")
        let logs = try Fixture.bytes("logs.pb")
        let tracesJSON = try Fixture.bytes("traces.json")
        let logsJSON = try Fixture.bytes("logs.json")
        let detailed = try DebugFormatter(verbosity: .detailed).format(.logs, protobuf: logs)
        let failures = await withTaskGroup(of: Int.self) { group in
            for task in 0..<16 {
                group.addTask {
                    var failures = 0
                    for i in 0..<40 {
                        switch (task + i) % 4 {
                        case 0: if (try? OTLPJSON.encode(.traces, protobuf: traces)) != tracesJSON { failures += 1 }
                        case 1: if (try? OTLPJSON.decode(.logs, json: logsJSON)) != logs { failures += 1 }
                        case 2: if (try? DebugFormatter(verbosity: .detailed).format(.logs, protobuf: logs)) != detailed { failures += 1 }
                        default: if (try? OTLPValidator.count(.traces, protobuf: traces)) != 4 { failures += 1 }
                        }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }
}
