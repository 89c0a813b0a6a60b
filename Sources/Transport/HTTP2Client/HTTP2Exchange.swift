import Dispatch

/// One request's whole life inside an ``HTTP2Client``: waiting (in the client's queue of
/// requests) -> submitted (a stream on a connection) -> finished. The completion runs exactly
/// once, from ``finish(_:)``; a stream that is still open when its exchange finished early
/// (deadline, response too large) is reset by its connection and its later events are ignored.
///
/// Confined to the client's serial queue, like everything it refers to.
// @unchecked Sendable: only touched on the client's serial queue; timers that capture it just
// run there.
final class HTTP2Exchange: @unchecked Sendable {
    enum State: Equatable {
        case waiting
        case submitted
        case finished
    }

    let request: HTTP2ClientRequest
    private let completion: @Sendable (Result<HTTPResponse, HTTP2ClientError>) -> Void
    private(set) var state: State = .waiting
    /// The deadline's timer, cancelled when the exchange finishes.
    var timer: DispatchWorkItem?

    // While submitted.
    var streamID: Int32 = 0
    weak var connection: HTTP2ClientConnection?
    /// Bytes of the request body already handed to nghttp2.
    var bodyOffset = 0
    /// Our HEADERS frame went out (else the server cannot have seen the request).
    var headersSent = false
    /// Times a server refused the stream (REFUSED_STREAM) and the client sent it again.
    var refusals = 0

    // The response as it arrives.
    var status: Int?
    var headers = HTTPHeaders()
    var trailers = HTTPHeaders()
    var body: [UInt8] = []

    init(request: HTTP2ClientRequest,
         completion: @escaping @Sendable (Result<HTTPResponse, HTTP2ClientError>) -> Void) {
        self.request = request
        self.completion = completion
    }

    var isFinished: Bool { state == .finished }

    func submitted(as streamID: Int32, on connection: HTTP2ClientConnection) {
        state = .submitted
        self.streamID = streamID
        self.connection = connection
    }

    /// Back to waiting (the server refused the stream without processing it).
    func requeued() {
        state = .waiting
        streamID = 0
        connection = nil
        bodyOffset = 0
        headersSent = false
        status = nil
        headers = HTTPHeaders()
        trailers = HTTPHeaders()
        body = []
    }

    /// Completes the request once; later calls are ignored.
    func finish(_ result: Result<HTTPResponse, HTTP2ClientError>) {
        guard state != .finished else { return }
        state = .finished
        timer?.cancel()
        timer = nil
        body = []
        completion(result)
    }

    /// The complete response (END_STREAM arrived).
    func succeed() {
        guard let status else {
            finish(.failure(HTTP2ClientError(.reset(1), "the server ended the stream without a response")))
            return
        }
        let response = HTTPResponse(status: status, headers: headers, body: body, trailers: trailers)
        finish(.success(response))
    }

    /// A header field of the response (`trailer`: after the body).
    func received(name: String, value: String, trailer: Bool) {
        if trailer && !isInformational {
            trailers.add(name: name, value: value)
        } else if name == ":status" {
            status = Int(value)
            headers = HTTPHeaders()  // the fields of an interim (1xx) response are dropped
        } else if !name.hasPrefix(":") {
            headers.add(name: name, value: value)
        }
    }

    /// An interim response (100 Continue and the like): the final one follows.
    private var isInformational: Bool { status.map { $0 < 200 } ?? true }
}
