/// The state of one HTTP/2 request/response exchange inside an ``HTTP2Session``.
///
/// Confined to the session's connection queue. Phases: `headers` (collecting the request
/// head) -> `body` (collecting DATA under the router's ``BodyPolicy``) -> `dispatched` (handler
/// running) -> `responded`. A stream refused early (limits, content type) jumps straight to
/// `responded`; if the client is still sending, it is reset with NO_ERROR once our response
/// has ended the stream, and the rest of its DATA is ignored.
final class HTTP2Stream {
    enum Phase {
        case headers
        case body
        case dispatched
        case responded
    }

    let id: Int32
    var phase: Phase = .headers

    // Request.
    var method = ""
    var path = ""
    var authority: String?
    var headers = HTTPHeaders()
    var headerBytes = 0
    var headersTooLarge = false
    var head: HTTPRequest?
    var policy: BodyPolicy?
    var body: [UInt8] = []
    /// The body's buffer was sized to its declared length (`BodyPolicy.declaredBytes`).
    var bodySized = false
    /// The body bytes reserved from the request budget while the body arrives.
    var hold = BudgetHold()
    /// The dispatched request's cancellation, set if the stream goes before its answer.
    var cancellation: RequestCancellation?
    /// The client has ended its side (END_STREAM received).
    var requestComplete = false
    /// Reset the stream with NO_ERROR once our END_STREAM is sent (early refusal).
    var resetAfterResponse = false

    // Response body being sent by the data provider.
    var responseBody: [UInt8] = []
    var responseOffset = 0
    var responseTrailers = HTTPHeaders()

    init(id: Int32) { self.id = id }

    /// The body, leaving the stream with none (and the caller with the only reference).
    func takeBody() -> [UInt8] {
        let taken = body
        body = []
        return taken
    }
}
