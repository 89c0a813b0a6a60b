internal import CNghttp2
import Dispatch

private let headersType = UInt8(NGHTTP2_HEADERS.rawValue)
private let dataType = UInt8(NGHTTP2_DATA.rawValue)
private let settingsType = UInt8(NGHTTP2_SETTINGS.rawValue)
private let goAwayType = UInt8(NGHTTP2_GOAWAY.rawValue)
private let endStreamFlag = UInt8(NGHTTP2_FLAG_END_STREAM.rawValue)
private let ackFlag = UInt8(NGHTTP2_FLAG_ACK.rawValue)

/// The nghttp2 client callbacks, as C function pointers. Each recovers its
/// ``HTTP2ClientConnection`` from the session's user data (unretained: the connection outlives
/// its nghttp2 session, deleted in its `deinit`) and works on the exchange of the stream. All
/// run synchronously inside `nghttp2_session_mem_recv`/`mem_send`, on the client's queue; what
/// the owner must hear is flagged and delivered after nghttp2 returns.
extension HTTP2ClientConnection {
    private static func from(_ user: UnsafeMutableRawPointer?) -> HTTP2ClientConnection {
        Unmanaged<HTTP2ClientConnection>.fromOpaque(user!).takeUnretainedValue()
    }

    /// A new callbacks table; the caller deletes it after creating the session.
    static func makeCallbacks() -> OpaquePointer? {
        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else { return nil }

        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            guard let frame, let name, let value, frame.pointee.hd.type == headersType else { return 0 }
            let connection = HTTP2ClientConnection.from(user)
            guard let exchange = connection.exchanges[frame.pointee.hd.stream_id], !exchange.isFinished else { return 0 }
            let nameText = String(decoding: UnsafeBufferPointer(start: name, count: nameLength), as: UTF8.self)
            let valueText = String(decoding: UnsafeBufferPointer(start: value, count: valueLength), as: UTF8.self)
            exchange.received(name: nameText, value: valueText, trailer: frame.pointee.headers.cat == NGHTTP2_HCAT_HEADERS)
            return 0
        }

        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, user in
            let connection = HTTP2ClientConnection.from(user)
            guard let data, let exchange = connection.exchanges[streamID], !exchange.isFinished else { return 0 }
            connection.bodyChunk(exchange, UnsafeRawBufferPointer(start: data, count: length))
            return 0
        }

        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            guard let frame else { return 0 }
            let connection = HTTP2ClientConnection.from(user)
            let header = frame.pointee.hd
            switch header.type {
            case settingsType where header.flags & ackFlag == 0:
                if connection.phase == .connecting { connection.settingsReceived() }
            case goAwayType:
                connection.goAwayReceived(lastStreamID: frame.pointee.goaway.last_stream_id)
            case headersType, dataType:
                if header.flags & endStreamFlag != 0, let exchange = connection.exchanges[header.stream_id] {
                    exchange.succeed()  // complete, even if our body is still going out
                }
            default:
                break
            }
            return 0
        }

        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, user in
            guard let frame, frame.pointee.hd.type == headersType else { return 0 }
            HTTP2ClientConnection.from(user).exchanges[frame.pointee.hd.stream_id]?.headersSent = true
            return 0
        }

        nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks) { _, frame, _, user in
            // A request's HEADERS that could not go out (GOAWAY came first): never processed.
            guard let frame, frame.pointee.hd.type == headersType else { return 0 }
            HTTP2ClientConnection.from(user).streamEnded(frame.pointee.hd.stream_id, code: NGHTTP2_REFUSED_STREAM.rawValue)
            return 0
        }

        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, code, user in
            HTTP2ClientConnection.from(user).streamEnded(streamID, code: code)
            return 0
        }

        return callbacks
    }

    /// The request body provider: copies the next piece of the body into nghttp2's frame.
    static let readBody: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, user in
        let connection = HTTP2ClientConnection.from(user)
        guard let buffer, let flags, let exchange = connection.exchanges[streamID] else {
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        let body = exchange.request.body
        let count = min(length, body.count - exchange.bodyOffset)
        if count > 0 {
            body.withUnsafeBytes { all in
                UnsafeMutableRawPointer(buffer).copyMemory(from: all.baseAddress! + exchange.bodyOffset, byteCount: count)
            }
            exchange.bodyOffset += count
        }
        if exchange.bodyOffset == body.count { flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
        return count
    }

    // MARK: - Events (inside nghttp2)

    func settingsReceived() {
        markReady()
        becameReady = true
    }

    func goAwayReceived(lastStreamID: Int32) {
        goAwayLastStreamID = min(goAwayLastStreamID, lastStreamID)
        goAway()
    }

    /// Response DATA: kept, up to the configured bound (past it the stream is reset).
    func bodyChunk(_ exchange: HTTP2Exchange, _ bytes: UnsafeRawBufferPointer) {
        guard exchange.body.count + bytes.count <= configuration.maxResponseBytes else {
            exchange.finish(.failure(HTTP2ClientError(
                .responseTooLarge, "the response from \(configuration.authorityValue) is larger than \(configuration.maxResponseBytes) bytes")))
            if let session {
                _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), exchange.streamID, NGHTTP2_CANCEL.rawValue)
            }
            return
        }
        exchange.body.append(contentsOf: bytes)
    }

    /// A stream is gone: an exchange not finished yet fails by the stream's error code.
    func streamEnded(_ streamID: Int32, code: UInt32) {
        guard let exchange = exchanges.removeValue(forKey: streamID) else { return }
        freedRoom = true
        let refused = code == NGHTTP2_REFUSED_STREAM.rawValue
        holdBackUntilAStreamEnds = refused
        guard !exchange.isFinished else { return }
        if refused && phase == .ready && exchange.refusals < Self.maxRefusals, let owner {
            exchange.refusals += 1
            owner.connectionRefused(self, exchange)
            holdBack(for: exchange.refusals)
            return
        }
        if code == NGHTTP2_REFUSED_STREAM.rawValue || streamID > goAwayLastStreamID || !exchange.headersSent {
            let why = streamID > goAwayLastStreamID
                ? "GOAWAY from \(configuration.authorityValue) (last stream \(goAwayLastStreamID))"
                : "\(configuration.authorityValue) refused the stream"
            exchange.finish(.failure(HTTP2ClientError(.refused, "not processed: \(why); send it again")))
        } else {
            exchange.finish(.failure(HTTP2ClientError(
                .reset(code), "\(configuration.authorityValue) reset the stream: \(HTTP2ClientError.codeName(code))")))
        }
    }

    /// After a refusal, no new stream until another one ends or 10 ms x 2^(n-1) passed (at
    /// most 640 ms).
    private func holdBack(for refusals: Int) {
        holdBackGeneration += 1
        let generation = holdBackGeneration
        queue.asyncAfter(deadline: .now() + .milliseconds(10 << min(refusals - 1, 6))) { [weak self] in
            guard let self, generation == holdBackGeneration, holdBackUntilAStreamEnds, phase == .ready else { return }
            holdBackUntilAStreamEnds = false
            owner?.connectionHasRoom(self)
        }
    }
}
