import Buffers

/// A protocol engine (HTTP/1.1 or HTTP/2) driving one ``Connection``.
///
/// Threading: every method is called on the connection's serial queue, and implementations
/// touch their state only there. Ownership: the connection and its session refer to each
/// other; the connection drops the session when it closes (after `connectionClosed`), which
/// breaks the cycle. Any call into the connection may close it, so sessions re-check their
/// `closed` state after such calls.
protocol ProtocolSession: AnyObject {
    /// Bytes read from the socket. Only valid during the call: copy what must be kept.
    func receive(_ bytes: UnsafeRawBufferPointer)
    /// The peer closed its sending side (or reset).
    func inputEnded()
    /// Output that had backed up has been written completely.
    func outputDrained()
    /// Graceful shutdown: finish what is in flight, accept nothing new, then close.
    func beginShutdown()
    /// The deadline passed: say goodbye if the protocol allows, without waiting.
    func forceClose()
    /// The connection is closed; drop all state. No further calls follow.
    func connectionClosed()
    /// What the session is doing, for the connection's timeouts.
    var activity: SessionActivity { get }
    /// Requests received completely so far (a change means the peer is making progress).
    var completedRequests: UInt64 { get }
    /// The connection has been idle for a while (``Connection/trimAfterNanos``): give back
    /// memory kept only to serve the next request faster. Called about once a second while it
    /// stays idle. Returns whether anything was given back.
    func trimIdleMemory() -> Bool
}

extension ProtocolSession {
    func trimIdleMemory() -> Bool { false }
}

/// What a connection is waiting for, as its idle and request-read timeouts see it.
enum SessionActivity: Sendable, Equatable {
    /// Nothing received in part and nothing in flight: the idle timeout applies.
    case idle
    /// A request head is partly received: the header-read and request-read timeouts apply.
    case receivingHead
    /// A request body is partly received: the request-read timeout applies.
    case receiving
    /// Requests are being handled or answered: no timeout (the server is the slow side).
    case busy
}

/// Decides, per request, how much body to accept and what to do with a complete request.
/// ``HTTPServer`` and ``GRPCServer`` each provide one; sessions are protocol-agnostic.
///
/// Threading: ``admit(_:)`` and ``dispatch(_:respond:)`` run on a connection queue, possibly on
/// many connections at once; implementations are thread-safe (`Sendable`).
protocol RequestRouter: Sendable {
    /// Current limits (read at the start of each request).
    var limits: HTTPServerLimits { get }
    /// Called once the head (method, target, headers) is known, before any body byte is kept.
    func admit(_ head: HTTPRequest) -> BodyAdmission
    /// Called with the complete request; `respond` must eventually be called exactly once.
    /// Consuming: the router owns the body's buffer (a gRPC message is cut out of it in place).
    func dispatch(_ request: consuming HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void)
    /// The transport answered a request itself with `response` (malformed, too large, refused
    /// by `admit` or the body policy): for the owner's metrics.
    func refused(_ response: HTTPResponse)
}

/// Called when the transport refuses a request by itself (see ``HTTPServer/setRefusalObserver(_:)``).
public typealias RefusalObserver = @Sendable (RefusedRequest) -> Void

/// A request the transport answered without passing it to the handler.
public struct RefusedRequest: Sendable, Equatable {
    /// The HTTP status sent (200 for gRPC errors, which travel in trailers).
    public var httpStatus: Int
    /// The gRPC status code sent, for gRPC calls.
    public var grpcStatus: Int?

    /// `grpc-status` name for gRPC calls (e.g. RESOURCE_EXHAUSTED), else the HTTP status.
    public var code: String {
        if let grpcStatus { return GRPCStatusCode(rawValue: grpcStatus).map { "\($0)" } ?? String(grpcStatus) }
        return String(httpStatus)
    }

    init(_ response: HTTPResponse) {
        httpStatus = response.status
        grpcStatus = (response.trailers["grpc-status"] ?? response.headers["grpc-status"]).flatMap { Int($0) }
    }
}

/// The verdict on a request head.
enum BodyAdmission: Sendable {
    case accept(BodyPolicy)
    case reject(HTTPResponse)
}

/// How a request body is bounded while it arrives.
struct BodyPolicy: Sendable {
    /// More body bytes than this -> respond with `overflow` and stop reading the body.
    var maxBytes: Int
    var overflow: HTTPResponse
    /// The answer when the bytes cannot be held now (the request budget or the connection's
    /// share is used up): retryable (503 + Retry-After, gRPC UNAVAILABLE).
    var busy: HTTPResponse = BodyPolicy.busyResponse
    /// Looks at the body received so far (cheaply: it runs after every chunk) and may refuse
    /// the request early, e.g. gRPC checks the declared message length in the first 5 bytes.
    var inspect: (@Sendable ([UInt8]) -> HTTPResponse?)?
    /// The whole body's length, once the bytes so far declare it (gRPC: the message length in
    /// the first 5 bytes), so that the body's buffer is sized once instead of regrown (and,
    /// kept by reference in a batch, holds no slack).
    var declaredBytes: (@Sendable ([UInt8]) -> Int?)? = nil
    /// Where a body sized from `declaredBytes` takes its buffer.
    var bodyPool: PayloadPool = .shared

    /// The plain-HTTP refusal for a request whose bytes cannot be held now.
    static let busyResponse: HTTPResponse = {
        var response = HTTPResponse.text(503, "server busy: too many bytes held by unfinished requests; retry later\n")
        response.headers.add(name: "retry-after", value: "1")
        return response
    }()

    /// Runs the bound and the inspector over `body`.
    func verdict(on body: [UInt8]) -> HTTPResponse? {
        if let inspect, let refusal = inspect(body) { return refusal }
        return body.count > maxBytes ? overflow : nil
    }
}
