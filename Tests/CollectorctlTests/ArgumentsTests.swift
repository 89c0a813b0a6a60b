@testable import collectorctl
import Testing

@Suite struct ArgumentsTests {
    @Test func traceIDsArePaddedAndLowercased() throws {
        #expect(try Arguments.traceID("4BF92F3577B34DA6A3CE929D0E0E4736") == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(try Arguments.traceID("a3ce929d0e0e4736") == "0000000000000000a3ce929d0e0e4736")
        #expect(try Arguments.traceID(" 1 ") == "00000000000000000000000000000001")
    }

    @Test func badTraceIDs() {
        for bad in ["", "xyz", "0x12", "4bf92f3577b34da6a3ce929d0e0e47361", "4bf92f35-77b3"] {
            #expect(throws: CLIError(.invalidInput, "invalid trace id \"\(bad)\": expected 1 to 32 hex digits")) {
                try Arguments.traceID(bad)
            }
        }
        #expect(throws: CLIError(.invalidInput, "invalid trace id \"0000\": the all-zero id is not a trace id")) {
            try Arguments.traceID("0000")
        }
        #expect(CLIError(.invalidInput, "").exitCode == 2)
        #expect(CLIError(.notFound, "").exitCode == 3)
        #expect(CLIError(.unreachable, "").exitCode == 4)
        #expect(CLIError(.server, "").exitCode == 5)
    }

    @Test func durations() {
        #expect(Arguments.duration("250ms") == 250_000_000)
        #expect(Arguments.duration("1.5s") == 1_500_000_000)
        #expect(Arguments.duration("1h30m") == 5_400_000_000_000)
        #expect(Arguments.duration("15µs") == 15_000)
        #expect(Arguments.duration("0") == 0)
        for bad in ["", "10", "1x", "-1s", "ms", "1.2.3s"] {
            #expect(Arguments.duration(bad) == nil, "\(bad)")
        }
    }

    @Test func serverAddresses() throws {
        #expect(try ServerAddress(parsing: "http://127.0.0.1:16686") == ServerAddress(host: "127.0.0.1", port: 16686))
        #expect(try ServerAddress(parsing: "HTTP://query.local/") == ServerAddress(host: "query.local", port: 80))
        #expect(try ServerAddress(parsing: "http://[::1]:3200/tempo/") == ServerAddress(host: "::1", port: 3200, basePath: "/tempo"))
        #expect(try ServerAddress(parsing: "localhost:9000") == ServerAddress(host: "localhost", port: 9000))
        #expect(try ServerAddress(parsing: "http://[::1]:3200").authority == "[::1]:3200")
        #expect(try ServerAddress(parsing: "http://h:1/p").description == "http://h:1/p")
        #expect(try ServerAddress(parsing: "https://query.local") == ServerAddress(host: "query.local", port: 443, tls: true))
        #expect(try ServerAddress(parsing: "HTTPS://h:1/p").description == "https://h:1/p")
        for bad in ["ftp://h:1", "http://:80", "http://h:0", "http://h:99999", "http://[::1", "http://h:x"] {
            #expect(throws: CLIError.self, "\(bad)") { try ServerAddress(parsing: bad) }
        }
    }

    @Test func endpointPrecedence() throws {
        var options = try ServerOptions.parse([])
        #expect(try options.address(environment: [:]) == ServerAddress(host: "127.0.0.1", port: 16686))
        #expect(try options.address(environment: ["COLLECTORCTL_ENDPOINT": "http://env:1"]) == ServerAddress(host: "env", port: 1))
        #expect(try options.address(environment: ["COLLECTORCTL_ENDPOINT": ""]) == ServerAddress(host: "127.0.0.1", port: 16686))
        options = try ServerOptions.parse(["--endpoint", "http://flag:2"])
        #expect(try options.address(environment: ["COLLECTORCTL_ENDPOINT": "http://env:1"]) == ServerAddress(host: "flag", port: 2))
    }

    @Test func tlsOptionsAndToken() throws {
        var options = try ServerOptions.parse(["--endpoint", "http://h:1", "--ca-file", "/ca.pem"])
        #expect(throws: CLIError(.invalidInput, "--ca-file, --cert-file, --key-file, --insecure-skip-verify and --server-name need an https:// endpoint (got http://h:1)")) {
            try options.connection(environment: [:])
        }
        options = try ServerOptions.parse(["--endpoint", "https://h:1", "--cert-file", "/c.pem"])
        #expect(throws: CLIError(.invalidInput, "--cert-file and --key-file go together")) { try options.connection(environment: [:]) }
        options = try ServerOptions.parse(["--endpoint", "https://h:1", "--ca-file", "/nonexistent/ca.pem"])
        #expect { try options.connection(environment: [:]) } throws: { error in
            let failure = error as? CLIError
            return failure?.kind == .invalidInput && failure?.message.hasPrefix("--ca-file /nonexistent/ca.pem: ") == true
        }
        options = try ServerOptions.parse(["--endpoint", "https://h:1", "--insecure-skip-verify"])
        #expect(try options.connection(environment: ["COLLECTORCTL_TOKEN": "from-env"]).token == "from-env")
        options = try ServerOptions.parse(["--endpoint", "https://h:1", "--insecure-skip-verify", "--token", "flag"])
        #expect(try options.connection(environment: ["COLLECTORCTL_TOKEN": "from-env"]).token == "flag")
        #expect(try options.connection(environment: [:]).server == ServerAddress(host: "h", port: 1, tls: true))
        #expect(CLIError(.unauthorized, "").exitCode == 6)
    }

    @Test func searchParameters() throws {
        var command = try SearchCommand.parse([
            "--service", "shop api", "--operation", "GET /cart", "--tag", "http.status_code=500", "--tag", "q=a\"b",
            "--min-duration", "250ms", "--max-duration", "2s", "--since", "1h", "--limit", "5",
        ])
        let now: UInt64 = 1_700_003_600_500_000_000
        let parameters = command.parameters(now: now)
        #expect(parameters.map(\.0) == ["tags", "minDuration", "maxDuration", "start", "limit"])
        #expect(parameters.map(\.1) == [
            #"service.name="shop api" name="GET /cart" http.status_code=500 q="a\"b""#,
            "250000000ns", "2000000000ns", "1700000000", "5",
        ])
        command = try SearchCommand.parse(["--service", "a"])
        #expect(command.parameters(now: now).map(\.1) == ["service.name=a", "20"])
        #expect(throws: (any Error).self) { try SearchCommand.parse(["--service", "a", "--since", "soon"]) }
        #expect(throws: (any Error).self) { try SearchCommand.parse(["--service", "a", "--limit", "0"]) }
        #expect(throws: (any Error).self) { try SearchCommand.parse(["--service", "a", "--tag", "novalue"]) }
        #expect(throws: (any Error).self) { try SearchCommand.parse(["--operation", "x"]) }
    }

    @Test func percentEncoding() {
        #expect(QueryClient.percentEncode("service.name=\"a b\"/ü~") == "service.name%3D%22a%20b%22%2F%C3%BC~")
    }
}
