import Buffers
internal import CNghttp2
import Dispatch

/// HTTP/2 with prior knowledge (h2c) on one connection, on top of an nghttp2 server session.
///
/// Bytes read are fed to `nghttp2_session_mem_recv`; nghttp2 calls back (synchronously, on the
/// connection queue) as headers and data arrive; output is pulled with
/// `nghttp2_session_mem_send`, batched, and queued on the connection, stopping at
/// ``HTTP2Output/highWater`` until the socket drains. Large windows (``initialStreamWindow`` per
/// stream, ``connectionWindow`` per connection) let multi-megabyte messages flow without
/// stalling; nghttp2 sends WINDOW_UPDATE automatically because data is consumed (copied into
/// the request body) as soon as it arrives.
///
/// Responses may be submitted at any time, in any order, after the handler calls `respond`:
/// the call is moved to the connection queue, the response is submitted as HEADERS
/// [+ DATA from a data provider] [+ trailers], and a pump is scheduled (coalescing responses
/// that complete together). A per-stream refusal (limits) answers that stream only.
/// Shutdown sends GOAWAY with the last processed stream, lets open streams finish, then closes.
///
/// Memory: a client may open ``HTTPServerLimits/maxConcurrentStreams`` streams (advertised in
/// SETTINGS; nghttp2 refuses more). Body bytes are kept only as they arrive (a declared
/// `content-length` reserves nothing) and each stream's unfinished bytes are reserved from the
/// connection's ``RequestBudget`` and counted against the connection's share
/// (``HTTPServerLimits/maxConnectionPendingBytes``); a stream that would pass either is
/// answered busy (503 / UNAVAILABLE) and reset, so its data stops and is not kept. The windows
/// are reopened only for data that was consumed, so what a client can push beyond the bound
/// is one window of DATA that is discarded.
// @unchecked Sendable: all mutable state, including the nghttp2 session, is touched only on the
// connection's serial queue; closures capture `self` only to enqueue work there.
final class HTTP2Session: ProtocolSession, @unchecked Sendable {
    static let initialStreamWindow: Int32 = 8 * 1024 * 1024
    static let connectionWindow: Int32 = 32 * 1024 * 1024

    /// Strong: the cycle with `Connection.session` is broken when the connection closes.
    private let connection: Connection
    let queue: DispatchQueue
    let router: any RequestRouter
    /// Owned; deleted in `deinit` (never while a call into nghttp2 may be on the stack).
    private var session: OpaquePointer?
    /// The session's allocator (its long-lived blocks mapped); outlives `session`.
    private let memory = HTTP2SessionMemory()
    var streams: [Int32: HTTP2Stream] = [:]
    private var draining = false
    private(set) var closed = false
    private var pumpScheduled = false
    /// Idle pages were given back since the last bytes arrived.
    private var trimmed = false
    private(set) var completedRequests: UInt64 = 0
    /// Body bytes held by this connection's unfinished streams (the sum of their holds).
    private var pendingBytes = 0
    private let budget: RequestBudget

    var activity: SessionActivity {
        if streams.isEmpty { return .idle }
        if streams.values.contains(where: { $0.phase == .headers }) { return .receivingHead }
        return streams.values.contains { $0.phase == .body } ? .receiving : .busy
    }

    /// Creates the nghttp2 session and queues our SETTINGS; nil if nghttp2 cannot allocate.
    init?(connection: Connection) {
        self.connection = connection
        self.queue = connection.queue
        self.router = connection.router
        self.budget = connection.budget
        guard let callbacks = Self.makeCallbacks() else { return nil }
        defer { nghttp2_session_callbacks_del(callbacks) }
        var created: OpaquePointer?
        var options: OpaquePointer?
        guard nghttp2_option_new(&options) == 0, let options else { return nil }
        defer { nghttp2_option_del(options) }
        // Closed streams are forgotten (nghttp2 keeps some for RFC 7540 priorities, which RFC
        // 9113 deprecates), so an idle connection holds no stream; responses are not indexed
        // in HPACK (a few header bytes more per response, no header table kept per connection).
        nghttp2_option_set_no_closed_streams(options, 1)
        nghttp2_option_set_max_deflate_dynamic_table_size(options, 0)
        var allocator = memory.allocator
        memory.creating = true
        let status = nghttp2_session_server_new3(&created, callbacks, Unmanaged.passUnretained(self).toOpaque(), options, &allocator)
        memory.creating = false
        guard status == 0, let created else { return nil }
        session = created
        let none = UInt8(NGHTTP2_FLAG_NONE.rawValue)
        let settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                                   value: UInt32(clamping: max(1, router.limits.maxConcurrentStreams))),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                                   value: UInt32(Self.initialStreamWindow)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                                   value: UInt32(clamping: router.limits.maxHeaderBytes + 32 * router.limits.maxHeaderCount)),
        ]
        _ = nghttp2_submit_settings(created, none, settings, settings.count)
        _ = nghttp2_session_set_local_window_size(created, none, 0, Self.connectionWindow)
    }

    deinit {
        if let session { nghttp2_session_del(session) }
    }

    // MARK: - ProtocolSession

    func receive(_ bytes: UnsafeRawBufferPointer) {
        guard !closed, let session, let base = bytes.baseAddress else { return }
        trimmed = false
        let result = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if result < 0 {
            // Fatal protocol error: flush whatever nghttp2 queued (GOAWAY) and close.
            pump()
            connection.closeAfterFlush(linger: false)
            return
        }
        pump()
    }

    func inputEnded() {
        connection.close()
    }

    func outputDrained() {
        pump()
    }

    func beginShutdown() {
        guard !closed, let session, !draining else { return }
        draining = true
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue),
                                  nghttp2_session_get_last_proc_stream_id(session),
                                  NGHTTP2_NO_ERROR.rawValue, nil, 0)
        pump()
    }

    func forceClose() {
        guard !closed, let session else { return }
        _ = nghttp2_session_terminate_session(session, NGHTTP2_NO_ERROR.rawValue)
        pump()
    }

    /// Idle: nothing in flight and nothing for nghttp2 to send, so the frame buffer's bytes are
    /// dead and the stream map is empty; their pages go back to the kernel, once per idle spell.
    func trimIdleMemory() -> Bool {
        guard !closed, !trimmed, let session, streams.isEmpty, connection.bufferedOutputBytes == 0,
              nghttp2_session_want_write(session) == 0 else { return false }
        trimmed = true
        streams = [:]   // the dictionary's storage, too
        return memory.releaseIdlePages() > 0
    }

    func connectionClosed() {
        closed = true
        for stream in streams.values {
            releaseHold(stream)
            if stream.phase == .dispatched { stream.cancellation?.cancel() }
        }
        streams = [:]
    }

    // MARK: - Output

    /// Pulls frames from nghttp2 into the connection until nothing is pending or the
    /// connection has enough queued; closes when nghttp2 wants neither to read nor write.
    func pump() {
        guard !closed, let session else { return }
        if HTTP2Output.pump(session, into: connection) != nil {
            connection.close()
            return
        }
        // Decided only here, after the last frames are queued: streams close inside
        // `mem_send`, before their final frames have reached the connection.
        if !closed && ((draining && streams.isEmpty)
            || (nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0)) {
            connection.closeAfterFlush(linger: false)
        }
    }

    /// Pumps soon, once for all responses submitted in the meantime.
    private func schedulePump() {
        guard !pumpScheduled else { return }
        pumpScheduled = true
        queue.async {
            self.pumpScheduled = false
            self.pump()
        }
    }

    // MARK: - Requests and responses (called from the nghttp2 callbacks)

    /// The request head is complete: admit it or refuse it now.
    func headersComplete(_ stream: HTTP2Stream) {
        stream.phase = .body
        let limits = router.limits
        if stream.headersTooLarge || stream.headers.count > limits.maxHeaderCount {
            respondEarly(stream, .text(431, "request header fields too large\n"))
            return
        }
        var headers = stream.headers
        if let authority = stream.authority, !headers.contains("host") {
            headers.add(name: "host", value: authority)
        }
        let head = HTTPRequest(method: stream.method, target: stream.path, version: .http2, headers: headers,
                               remoteAddress: connection.remoteAddress)
        switch router.admit(head) {
        case .reject(let response):
            respondEarly(stream, response)
        case .accept(let policy):
            // A declared length over the bound is refused now; nothing is reserved for it.
            if let declared = headers["content-length"].flatMap(Int.init), declared > policy.maxBytes {
                respondEarly(stream, policy.overflow)
                return
            }
            stream.policy = policy
            stream.head = head
        }
    }

    /// DATA for a stream: keep it while the stream is collecting its body.
    func bodyChunk(_ stream: HTTP2Stream, _ bytes: UnsafeRawBufferPointer) {
        guard stream.phase == .body, let policy = stream.policy else { return }
        let held = stream.hold.bytes
        if pendingBytes + bytes.count > router.limits.maxConnectionPendingBytes {
            budget.countRefusal()
            respondEarly(stream, policy.busy)
            return
        }
        if !stream.hold.grow(to: stream.body.count + bytes.count, in: budget) {
            respondEarly(stream, policy.busy)
            return
        }
        pendingBytes += stream.hold.bytes - held
        stream.body.append(contentsOf: bytes)
        if let refusal = policy.verdict(on: stream.body) {
            return respondEarly(stream, refusal)
        }
        if !stream.bodySized, let declared = policy.declaredBytes?(stream.body) {
            // Within maxBytes (the verdict above refuses more). From the pool: a body is kept by
            // reference in its batch and given back with it once exported, so the next body
            // writes into pages already faulted in (a fresh buffer costs only the pages written).
            stream.bodySized = true
            if declared > stream.body.capacity { policy.bodyPool.regrow(&stream.body, toCapacity: declared) }
        }
    }

    /// END_STREAM from the client: dispatch the complete request.
    func requestEnded(_ stream: HTTP2Stream) {
        stream.requestComplete = true
        completedRequests += 1
        guard stream.phase == .body, let head = stream.head else { return }
        stream.phase = .dispatched
        stream.head = nil
        releaseHold(stream)  // the handler has the bytes now
        stream.cancellation = head.cancellation
        let id = stream.id
        // The request is an rvalue so that it moves into the router with the only reference to
        // the body: the router cuts the gRPC message out of the body in place only while the
        // buffer has no other owner (from a local variable it was passed as a copy, and the cut
        // made a second body-sized buffer).
        router.dispatch(Self.request(head, body: stream.takeBody())) { [weak self] response in
            guard let self else { return }
            self.queue.async { self.respond(streamID: id, response) }
        }
    }

    private static func request(_ head: HTTPRequest, body: consuming [UInt8]) -> HTTPRequest {
        var request = head
        request.body = body
        return request
    }

    /// The handler's answer (on the connection queue). Dropped if the stream is gone.
    private func respond(streamID: Int32, _ response: HTTPResponse) {
        guard !closed, let stream = streams[streamID], stream.phase == .dispatched else { return }
        stream.phase = .responded
        submit(stream, response)
        schedulePump()
    }

    /// Refuses a stream before its request is complete; the rest of its data is ignored.
    private func respondEarly(_ stream: HTTP2Stream, _ response: HTTPResponse) {
        router.refused(response)
        stream.phase = .responded
        stream.body = []
        stream.head = nil
        releaseHold(stream)
        if !stream.requestComplete { stream.resetAfterResponse = true }
        submit(stream, response)
    }

    /// Our END_STREAM went out: a stream refused early is reset so the client stops sending.
    func endStreamSent(_ stream: HTTP2Stream) {
        guard stream.resetAfterResponse, !stream.requestComplete, let session else { return }
        stream.resetAfterResponse = false
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, NGHTTP2_NO_ERROR.rawValue)
    }

    /// A stream is gone (called inside nghttp2; `pump` decides about closing afterwards).
    func streamClosed(_ id: Int32) {
        if let stream = streams.removeValue(forKey: id) {
            releaseHold(stream)
            if stream.phase == .dispatched { stream.cancellation?.cancel() }  // reset before the answer
        }
    }

    /// Gives a stream's reserved bytes back to the budget and the connection's share.
    private func releaseHold(_ stream: HTTP2Stream) {
        pendingBytes -= stream.hold.bytes
        stream.hold.release(to: budget)
    }

    /// Submits HEADERS, then DATA and trailers if there are any.
    private func submit(_ stream: HTTP2Stream, _ response: HTTPResponse) {
        guard let session else { return }
        var fields: [(String, String)] = [(":status", String(response.status))]
        for field in response.headers where Self.isAllowedResponseField(field.name) {
            fields.append((field.name.asciiLowercased, field.value))
        }
        let body = stream.method == "HEAD" ? [] : response.body
        if !body.isEmpty && response.trailers.isEmpty && !response.headers.contains("content-length") {
            fields.append(("content-length", String(body.count)))
        }
        stream.responseBody = body
        stream.responseOffset = 0
        stream.responseTrailers = response.trailers
        let result = Self.withNameValues(fields) { nva, count -> Int32 in
            if body.isEmpty && response.trailers.isEmpty {
                return nghttp2_submit_response(session, stream.id, nva, count, nil)
            }
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: Self.readBody)
            return nghttp2_submit_response(session, stream.id, nva, count, &provider)
        }
        if result != 0 {
            _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id,
                                          NGHTTP2_INTERNAL_ERROR.rawValue)
        }
    }

    /// The data provider: copies the next piece of the response body into nghttp2's frame
    /// buffer; at the end, submits trailers if any (which then carry END_STREAM).
    func readBody(_ stream: HTTP2Stream, into buffer: UnsafeMutablePointer<UInt8>, length: Int,
                  flags: UnsafeMutablePointer<UInt32>) -> Int {
        let count = min(length, stream.responseBody.count - stream.responseOffset)
        if count > 0 {
            stream.responseBody.withUnsafeBytes { all in
                UnsafeMutableRawPointer(buffer).copyMemory(from: all.baseAddress! + stream.responseOffset, byteCount: count)
            }
            stream.responseOffset += count
        }
        if stream.responseOffset == stream.responseBody.count {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            stream.responseBody = []
            stream.responseOffset = 0
            if !stream.responseTrailers.isEmpty, let session {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                let trailers = stream.responseTrailers.fields
                    .filter { Self.isAllowedResponseField($0.name) }
                    .map { ($0.name.asciiLowercased, $0.value) }
                stream.responseTrailers = HTTPHeaders()
                _ = Self.withNameValues(trailers) { nva, count in
                    nghttp2_submit_trailer(session, stream.id, nva, count)
                }
            }
        }
        return count
    }

    /// Connection-specific fields are forbidden in HTTP/2 (RFC 9113 section 8.2.2).
    private static func isAllowedResponseField(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix(":") else { return false }
        for forbidden in ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]
        where HTTPHeaders.namesEqual(name, forbidden) {
            return false
        }
        return true
    }

    /// Lays out `fields` as an `nghttp2_nv` array valid for the duration of `body`
    /// (nghttp2 copies names and values when they are submitted).
    static func withNameValues<R>(_ fields: [(String, String)], _ body: (UnsafePointer<nghttp2_nv>?, Int) -> R) -> R {
        var storage: [UInt8] = []
        var spans: [(name: Int, nameCount: Int, value: Int, valueCount: Int)] = []
        spans.reserveCapacity(fields.count)
        for (name, value) in fields {
            let nameStart = storage.count
            storage.append(contentsOf: name.utf8)
            let valueStart = storage.count
            storage.append(contentsOf: value.utf8)
            spans.append((nameStart, valueStart - nameStart, valueStart, storage.count - valueStart))
        }
        storage.append(0)  // never empty, so the base address exists
        return storage.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            let nva = spans.map { span in
                nghttp2_nv(name: base + span.name, value: base + span.value, namelen: span.nameCount,
                           valuelen: span.valueCount, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return nva.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
        }
    }
}
