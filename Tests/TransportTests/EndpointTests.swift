import Testing
@testable import Transport

@Suite("Endpoint")
struct EndpointTests {
    @Test(arguments: [
        ("0.0.0.0:4317", "0.0.0.0", 4317, "0.0.0.0:4317"),
        ("localhost:0", "localhost", 0, "localhost:0"),
        ("[::1]:4317", "::1", 4317, "[::1]:4317"),
        (":4318", "0.0.0.0", 4318, "0.0.0.0:4318"),
        ("collector.example:65535", "collector.example", 65535, "collector.example:65535"),
    ])
    func parses(text: String, host: String, port: Int, description: String) throws {
        let endpoint = try Endpoint(parsing: text)
        #expect(endpoint.host == host)
        #expect(endpoint.port == port)
        #expect(endpoint.description == description)
    }

    @Test(arguments: ["4317", "host:", "host:65536", "host:-1", "host:12a", "::1:4317", "[::1]4317", "[::1", "[]:1", "a b:1"])
    func rejects(text: String) {
        #expect(throws: TransportError.self) { try Endpoint(parsing: text) }
    }

    @Test func errorNamesTheText() {
        do {
            _ = try Endpoint(parsing: "host:99999")
            Issue.record("expected an error")
        } catch let error as TransportError {
            #expect(error.code == .invalidEndpoint)
            #expect(error.description == "invalid endpoint \"host:99999\": port must be a number from 0 to 65535")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
