import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure the CLI reports as one line on stderr (`collectorctl: <message>`) with an exit
/// code per kind, so scripts can tell them apart:
///
/// | code | meaning |
/// |---|---|
/// | 0 | success |
/// | 2 | invalid input: a malformed trace id, or a search parameter the server refused |
/// | 3 | not found: nothing is stored for the trace id |
/// | 4 | unreachable: connection refused, unknown host, timeout |
/// | 5 | the server failed or answered something unexpected |
/// | 6 | not authorized: the server wants a bearer token, or refused the one sent (401) |
/// | 64 | command-line usage error (unknown option, missing argument, bad option value) |
struct CLIError: Error, Equatable, CustomStringConvertible {
    enum Kind: Int32, Equatable {
        case invalidInput = 2
        case notFound = 3
        case unreachable = 4
        case server = 5
        case unauthorized = 6
    }

    var kind: Kind
    var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    var exitCode: Int32 { kind.rawValue }
    var description: String { message }

    /// Runs `body`; a `CLIError` is printed on stderr and turned into its exit code.
    static func reporting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as CLIError {
            printError(error.message)
            throw ExitCode(error.exitCode)
        }
    }
}

/// Writes `collectorctl: <message>` and a newline to stderr.
func printError(_ message: String) {
    let line = Array("collectorctl: \(message)\n".utf8)
    var offset = 0
    while offset < line.count {
        let n = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
    }
}
