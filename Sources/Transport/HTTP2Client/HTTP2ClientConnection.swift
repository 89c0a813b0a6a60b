internal import CNghttp2
import Dispatch

/// What an ``HTTP2ClientConnection`` tells its client, on the client's queue. Never called
/// from inside nghttp2 (the connection defers the calls until nghttp2 has returned), so the
/// owner may submit new requests from them.
protocol HTTP2ConnectionOwner: AnyObject {
    /// The server's first SETTINGS arrived: requests may be submitted.
    func connectionReady(_ connection: HTTP2ClientConnection)
    /// A stream closed: there is room for another request.
    func connectionHasRoom(_ connection: HTTP2ClientConnection)
    /// GOAWAY received: take no new requests here; open streams up to its last stream id finish.
    func connectionGoingAway(_ connection: HTTP2ClientConnection)
    /// The server refused `exchange`'s stream (REFUSED_STREAM) without processing it: take it
    /// back to send again. Called inside nghttp2: only queue it, do not submit.
    func connectionRefused(_ connection: HTTP2ClientConnection, _ exchange: HTTP2Exchange)
    /// The connection is closed (or never opened); every request on it has been finished.
    func connectionClosed(_ connection: HTTP2ClientConnection, _ error: HTTP2ClientError)
}

/// One HTTP/2 connection of an ``HTTP2Client``: an nghttp2 client session over a ``ClientSocket``.
///
/// Design: the session is created at once; its SETTINGS (no push, large windows) go out with
/// the connection preface as soon as the socket is connected. The connection is `ready` once
/// the server's first SETTINGS arrived, so its SETTINGS_MAX_CONCURRENT_STREAMS is known before
/// the client submits anything: ``hasRoom`` keeps the open streams at or below it and the
/// client holds the rest back (nghttp2 would queue them too, but then a deadline could not
/// simply drop a request that never left). Bodies stream through a data provider as the
/// server's windows allow; response DATA is copied as it arrives, so nghttp2 reopens our
/// windows by itself. Output is pumped from nghttp2 into the socket in batches, pausing at
/// ``HTTP2Output/highWater`` until the socket drains.
///
/// REFUSED_STREAM on a connection that is not going away (a server whose own count of open
/// streams lags behind the protocol's, as grpc-core's does under load) sends the request
/// again, up to ``maxRefusals`` times, and holds new streams back until another stream of the
/// connection ends (the server has room again) or a short backoff passes (10 ms, doubling);
/// nothing was processed, so nothing repeats.
///
/// GOAWAY: streams above its last stream id are closed by nghttp2 with REFUSED_STREAM and fail
/// as ``HTTP2ClientError/Kind/refused`` (not processed); the rest finish normally; the
/// connection takes nothing new and closes when its last stream ends. A closed socket fails
/// every open stream (retryable; "not processed" when its HEADERS never left or it was above
/// the GOAWAY's last stream id).
///
/// Phases: connecting -> ready -> goingAway -> closed (any phase may jump to closed).
// @unchecked Sendable: every mutable property (and the nghttp2 session) is touched only on the
// client's serial queue; timers capture `self` only to enqueue work there.
final class HTTP2ClientConnection: ClientSocketDelegate, @unchecked Sendable {
    enum Phase: Equatable {
        case connecting, ready, goingAway, closed
    }

    /// How often one request is sent again after REFUSED_STREAM before it fails as refused
    /// (the waits add up to about 4 s: a loaded server may refuse streams for a while; the
    /// request's own deadline still ends it sooner).
    static let maxRefusals = 10

    let id: UInt64
    let queue: DispatchQueue
    let configuration: HTTP2ClientConfiguration
    private let socket: ClientSocket
    weak var owner: (any HTTP2ConnectionOwner)?
    /// Owned; deleted in `deinit` (never while a call into nghttp2 is on the stack).
    private(set) var session: OpaquePointer?
    var exchanges: [Int32: HTTP2Exchange] = [:]
    private(set) var phase: Phase = .connecting
    /// The connection got as far as the server's SETTINGS (else closing is a connect failure).
    private(set) var wasReady = false
    /// GOAWAY's last stream id (streams above it were not processed).
    var goAwayLastStreamID: Int32 = .max
    private var connectTimer: DispatchWorkItem?
    /// Owner notifications raised inside nghttp2 callbacks, delivered after it returns.
    var becameReady = false
    var freedRoom = false
    var receivedGoAway = false
    /// A stream was refused: open no new one until another stream ends (or a short backoff).
    var holdBackUntilAStreamEnds = false
    var holdBackGeneration = 0

    init?(id: UInt64, queue: DispatchQueue, configuration: HTTP2ClientConfiguration, tls: ClientSocket.TLSSetup?) {
        self.id = id
        self.queue = queue
        self.configuration = configuration
        self.socket = ClientSocket(queue: queue, endpoint: Endpoint(host: configuration.host, port: configuration.port), tls: tls)
        guard let callbacks = Self.makeCallbacks() else { return nil }
        defer { nghttp2_session_callbacks_del(callbacks) }
        var created: OpaquePointer?
        guard nghttp2_session_client_new(&created, callbacks, Unmanaged.passUnretained(self).toOpaque()) == 0,
              let created
        else { return nil }
        session = created
        let settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                                   value: UInt32(configuration.streamWindowBytes)),
        ]
        let none = UInt8(NGHTTP2_FLAG_NONE.rawValue)
        _ = nghttp2_submit_settings(created, none, settings, settings.count)
        _ = nghttp2_session_set_local_window_size(created, none, 0, configuration.connectionWindowBytes)
        socket.delegate = self
    }

    deinit {
        if let session { nghttp2_session_del(session) }
    }

    /// Connects; the outcome arrives as `connectionReady` or `connectionClosed`.
    func start() {
        let timer = DispatchWorkItem { [weak self] in
            guard let self, phase == .connecting else { return }
            let seconds = Double(configuration.connectTimeoutNanos) / 1e9
            socket.close(HTTP2ClientError(.connect, "timed out connecting to \(socket.endpoint) after \(seconds) s",
                                          notProcessed: true))
        }
        connectTimer = timer
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: configuration.connectTimeoutNanos)), execute: timer)
        socket.open()
    }

    /// Whether another stream may be opened now (the server's concurrency limit allows it).
    var hasRoom: Bool {
        guard phase == .ready, let session, !holdBackUntilAStreamEnds || exchanges.isEmpty else { return false }
        let limit = nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
        return UInt32(clamping: exchanges.count) < limit
    }

    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS (0 before they arrived).
    var serverMaxConcurrentStreams: UInt32 {
        guard phase != .connecting, let session else { return 0 }
        return nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
    }

    // MARK: - Requests

    /// Opens a stream for `exchange` (call ``pump()`` after a batch of submissions). False when
    /// this connection can take no more streams (ids exhausted): it is then going away.
    func submit(_ exchange: HTTP2Exchange) -> Bool {
        guard phase == .ready, let session else { return false }
        let request = exchange.request
        var fields: [(String, String)] = [
            (":method", request.method), (":scheme", configuration.usesTLS ? "https" : "http"),
            (":authority", configuration.authorityValue), (":path", request.path),
        ]
        for field in request.headers where Self.isAllowedRequestField(field.name) {
            fields.append((field.name.asciiLowercased, field.value))
        }
        let streamID = HTTP2Session.withNameValues(fields) { nva, count -> Int32 in
            if request.body.isEmpty {
                return nghttp2_submit_request(session, nil, nva, count, nil, nil)
            }
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: Self.readBody)
            return nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        guard streamID > 0 else {
            if streamID == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE.rawValue { goAway() }
            return false
        }
        exchange.submitted(as: streamID, on: self)
        exchanges[streamID] = exchange
        return true
    }

    /// The exchange finished early (deadline, too large): reset its stream with CANCEL.
    func cancel(_ exchange: HTTP2Exchange) {
        guard phase != .closed, let session, exchanges[exchange.streamID] === exchange else { return }
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), exchange.streamID, NGHTTP2_CANCEL.rawValue)
        pump()
    }

    /// Clean shutdown: GOAWAY to the server, open streams finish, then the socket closes.
    func beginShutdown() {
        guard phase != .closed else { return }
        if phase == .connecting {
            socket.close(HTTP2ClientError(.shutdown, "the client is shutting down", notProcessed: true))
            return
        }
        if let session {
            _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, NGHTTP2_NO_ERROR.rawValue, nil, 0)
        }
        phase = .goingAway
        pump()
    }

    /// Closes now; open streams fail with `error`.
    func close(_ error: HTTP2ClientError) {
        socket.close(error)
    }

    // MARK: - ClientSocketDelegate

    func socketConnected() {
        pump()  // the preface and our SETTINGS
    }

    func socketReceived(_ bytes: UnsafeRawBufferPointer) {
        guard phase != .closed, let session, let base = bytes.baseAddress else { return }
        let result = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if result < 0 {
            let reason = String(cString: nghttp2_strerror(Int32(result)))
            pump()  // nghttp2's GOAWAY, if it queued one
            socket.close(HTTP2ClientError(.connectionClosed, "HTTP/2 protocol error from \(socket.endpoint): \(reason)"))
            return
        }
        pump()
    }

    func socketDrained() {
        pump()
    }

    func socketClosed(_ error: HTTP2ClientError) {
        guard phase != .closed else { return }
        phase = .closed
        connectTimer?.cancel()
        connectTimer = nil
        let open = exchanges.values.sorted { $0.streamID < $1.streamID }
        exchanges = [:]
        for exchange in open {
            var failure = error
            if error.kind != .shutdown { failure.kind = .connectionClosed }
            failure.notProcessed = !exchange.headersSent || exchange.streamID > goAwayLastStreamID
            exchange.finish(.failure(failure))
        }
        owner?.connectionClosed(self, error)
    }

    // MARK: - Output

    /// Pulls frames from nghttp2 into the socket until nothing is pending or enough is queued;
    /// then delivers the owner notifications raised meanwhile, and closes when done.
    func pump() {
        guard let session else { return }
        if socket.isOpen, let code = HTTP2Output.pump(session, into: socket) {
            socket.close(HTTP2ClientError(.connectionClosed, "HTTP/2 session with \(socket.endpoint) failed: "
                                          + String(cString: nghttp2_strerror(Int32(code)))))
            return
        }
        notifyOwner()
        guard phase != .closed, socket.isOpen else { return }
        if (phase == .goingAway && exchanges.isEmpty)
            || (nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0) {
            socket.closeAfterFlush(HTTP2ClientError(.connectionClosed, "connection to \(socket.endpoint) closed after GOAWAY"))
        }
    }

    private func notifyOwner() {
        guard phase != .closed else { return }
        if becameReady {
            becameReady = false
            connectTimer?.cancel()
            connectTimer = nil
            owner?.connectionReady(self)
        }
        if receivedGoAway {
            receivedGoAway = false
            owner?.connectionGoingAway(self)
        }
        if freedRoom {
            freedRoom = false
            owner?.connectionHasRoom(self)
        }
    }

    /// The server's first SETTINGS arrived.
    func markReady() {
        guard phase == .connecting else { return }
        phase = .ready
        wasReady = true
    }

    /// Marks the connection as taking nothing new (GOAWAY received, or stream ids exhausted).
    func goAway() {
        guard phase == .ready || phase == .connecting else { return }
        phase = .goingAway
        receivedGoAway = true
    }

    /// Connection-specific fields are forbidden in HTTP/2 (RFC 9113 section 8.2.2); pseudo
    /// fields come from the request itself.
    private static func isAllowedRequestField(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix(":") else { return false }
        for forbidden in ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"]
        where HTTPHeaders.namesEqual(name, forbidden) {
            return false
        }
        return true
    }
}
