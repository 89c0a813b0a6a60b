import Glibc
import OpenSSLSupport
// TLSClientSettings (the settings values) comes with this module for its users.
@_exported import TLSSettings

/// An OpenSSL client context built from `TLSClientSettings`: TLS 1.2 at least; the server's
/// certificate must chain to a trusted CA and name the host (unless verification is skipped).
/// The OpenSSL work is `OpenSSLSupport`'s (shared with the server transport).
public final class TLSClientContext: Sendable {
    private let context: SSLContext
    let serverName: String
    let verify: Bool

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(settings: TLSClientSettings, host: String) throws(Failure) {
        serverName = settings.serverNameOverride ?? host
        verify = !settings.insecureSkipVerify
        do {
            context = try SSLContext.client(settings)
        } catch {
            throw Failure(description: error.description)
        }
    }

    /// A TLS session over the connected non-blocking socket `fd`; `wait` waits for the socket's
    /// readiness (`POLLIN` / `POLLOUT`) and says why it could not (deadline, cancellation).
    func connect(fd: Int32, wait: (Int16) -> HTTPClientError?) -> Result<TLSStream, HTTPClientError> {
        let stream: TLSStream
        do { stream = try TLSStream(context: context, fd: fd, role: .client) } catch {
            return .failure(HTTPClientError(.tls, error.description))
        }
        stream.expect(serverName: serverName, verify: verify)
        while true {
            let step = stream.handshake()
            switch step {
            case .done:
                return .success(stream)
            case .wantRead, .wantWrite:
                if var failure = wait(Int16(step == .wantRead ? POLLIN : POLLOUT)) {
                    failure.message = "TLS handshake: \(failure.message)"
                    return .failure(failure)
                }
            case .closed:
                return .failure(HTTPClientError(.tls, "TLS handshake: connection closed by the server"))
            case .failed(let why):
                return .failure(HTTPClientError(.tls, "TLS handshake: \(why)"))
            }
        }
    }
}
