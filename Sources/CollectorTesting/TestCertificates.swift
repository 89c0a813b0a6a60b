import Foundation

/// Certificates for TLS tests, made by the `openssl` command in a temporary directory (removed
/// with the value): two unrelated CAs, and server and client certificates issued by them.
/// Server certificates name `localhost` and `127.0.0.1`; keys are EC P-256 (fast to make).
///
/// ```swift
/// let certs = try TestCertificates()
/// let server = try certs.issue("server", commonName: "server one")            // by the CA
/// let expired = try certs.issue("old", commonName: "old", expired: true)
/// let stranger = try certs.issue("other", commonName: "other", by: .other)     // wrong CA
/// ```
public final class TestCertificates: Sendable {
    public enum Authority: String, Sendable {
        case main = "ca"
        case other = "other-ca"
    }

    /// A certificate and its key, as PEM files.
    public struct Pair: Sendable {
        public let certFile: String
        public let keyFile: String
        public let commonName: String
    }

    public let directory: TemporaryDirectory

    /// Makes both CAs.
    public init() throws {
        directory = try TemporaryDirectory(prefix: "tls-certs")
        for authority in [Authority.main, .other] {
            try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                              "-keyout", path("\(authority.rawValue).key"), "-out", path("\(authority.rawValue).crt"),
                              "-days", "3", "-subj", "/CN=collectord test \(authority.rawValue)"])
        }
    }

    /// The CA certificate file of `authority`.
    public func caFile(_ authority: Authority = .main) -> String { path("\(authority.rawValue).crt") }

    /// Issues `<name>.crt` and `<name>.key` signed by `authority` (replacing files of that name).
    /// Server certificates carry `localhost` and `127.0.0.1` as subject alternative names;
    /// `expired` ends the validity a day before it starts (verification says "certificate has
    /// expired").
    @discardableResult
    public func issue(_ name: String, commonName: String, by authority: Authority = .main, client: Bool = false,
                      expired: Bool = false) throws -> Pair {
        let key = path("\(name).key"), cert = path("\(name).crt"), request = path("\(name).csr"), ext = path("\(name).ext")
        try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                          "-out", request, "-subj", "/CN=\(commonName)"])
        let usage = client ? "extendedKeyUsage=clientAuth\n" : "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
        try Data(usage.utf8).write(to: URL(fileURLWithPath: ext))
        try Self.openssl(["x509", "-req", "-in", request, "-CA", caFile(authority), "-CAkey", path("\(authority.rawValue).key"),
                          "-CAcreateserial", "-out", cert, "-days", expired ? "-1" : "2", "-extfile", ext])
        return Pair(certFile: cert, keyFile: key, commonName: commonName)
    }

    /// A file in the directory.
    public func path(_ name: String) -> String { directory.file(name).path }

    /// Runs `openssl` with `arguments`; throws with its stderr when it fails.
    @discardableResult
    public static func openssl(_ arguments: [String], input: Data? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(input) }
        try stdin.fileHandleForWriting.close()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError("openssl \(arguments.joined(separator: " ")) failed: \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}
