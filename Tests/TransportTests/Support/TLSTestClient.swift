import CollectorTesting
import Foundation
import OpenSSLSupport
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TLS test client on the shared OpenSSL code: choose the trusted CA, a client
/// certificate, ALPN protocols and versions, then look at what the handshake gave. Not
/// thread-safe; one test owns it.
final class TLSTestClient {
    let fd: Int32
    let stream: TLSStream
    /// The TCP connection (closed with it).
    private let connection: RawHTTPClient
    private let context: SSLContext

    init(port: Int, ca: String?, identity: TestCertificates.Pair? = nil, alpn: [String] = [],
         versions: (min: TLSProtocolVersion, max: TLSProtocolVersion?) = (.tls12, nil), serverName: String = "localhost") throws {
        context = try SSLContext(role: .client)
        try context.setVersions(min: versions.min, max: versions.max)
        if let ca { try context.trust(file: ca, what: "ca") }
        context.verifyPeer(ca != nil)
        if let identity { try context.useIdentity(certificateFile: identity.certFile, keyFile: identity.keyFile) }
        if !alpn.isEmpty { context.offer(protocols: alpn) }
        connection = try RawHTTPClient(port: port)
        fd = connection.fd
        stream = try TLSStream(context: context, fd: fd, role: .client)
        stream.expect(serverName: serverName, verify: ca != nil)
    }

    /// Runs the handshake (blocking): nil when it completed, else the reason.
    func handshake() -> String? {
        switch stream.handshake() {
        case .done: return nil
        case .closed: return "closed"
        case .failed(let why): return why
        case .wantRead, .wantWrite: return "timed out"
        }
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            switch bytes.withUnsafeBytes({ stream.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) {
            case .done(let n): offset += n
            case let other: throw TestFailure("TLS write: \(other)")
            }
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads until the server closes, `enough` says stop, or 10 s pass; with how it ended.
    func read(until enough: ([UInt8]) -> Bool = { _ in false }) -> (bytes: [UInt8], end: TLSStream.IO) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let step = buffer.withUnsafeMutableBytes { stream.read($0) }
            guard case .done(let n) = step else { return (received, step) }
            received += buffer[..<n]
            if enough(received) { return (received, step) }
        }
    }

    /// An HTTP/1.1 GET with `Connection: close`; the whole answer as text.
    func get(_ path: String) throws -> String {
        try send("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return String(decoding: read().bytes, as: UTF8.self)
    }
}
