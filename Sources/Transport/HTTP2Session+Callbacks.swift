internal import CNghttp2

private let headersType = UInt8(NGHTTP2_HEADERS.rawValue)
private let dataType = UInt8(NGHTTP2_DATA.rawValue)
private let endStreamFlag = UInt8(NGHTTP2_FLAG_END_STREAM.rawValue)

/// The nghttp2 callbacks, as C function pointers. Each recovers its ``HTTP2Session`` from the
/// session's user data (an unretained reference: the session object outlives its nghttp2
/// session, which is deleted in its `deinit`) and forwards to a Swift method. All run
/// synchronously inside `nghttp2_session_mem_recv`/`mem_send`, on the connection queue.
extension HTTP2Session {
    private static func from(_ user: UnsafeMutableRawPointer?) -> HTTP2Session {
        Unmanaged<HTTP2Session>.fromOpaque(user!).takeUnretainedValue()
    }

    /// A new callbacks table; the caller deletes it after creating the session.
    static func makeCallbacks() -> OpaquePointer? {
        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else { return nil }

        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, user in
            guard let frame else { return 0 }
            let session = HTTP2Session.from(user)
            if frame.pointee.hd.type == headersType && frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST {
                let id = frame.pointee.hd.stream_id
                session.streams[id] = HTTP2Stream(id: id)
            }
            return 0
        }

        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            guard let frame, let name, let value, frame.pointee.hd.type == headersType,
                  frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST
            else { return 0 }  // trailers from the client are ignored
            let session = HTTP2Session.from(user)
            guard let stream = session.streams[frame.pointee.hd.stream_id], stream.phase == .headers else { return 0 }
            stream.headerBytes += nameLength + valueLength + 32
            if stream.headerBytes > session.router.limits.maxHeaderBytes {
                stream.headersTooLarge = true
                return 0
            }
            let nameText = String(decoding: UnsafeBufferPointer(start: name, count: nameLength), as: UTF8.self)
            let valueText = String(decoding: UnsafeBufferPointer(start: value, count: valueLength), as: UTF8.self)
            if nameLength > 0 && name[0] == 0x3A {  // ':' pseudo-header (nghttp2 validated them)
                switch nameText {
                case ":method": stream.method = valueText
                case ":path": stream.path = valueText
                case ":authority": stream.authority = valueText
                default: break
                }
            } else if stream.headers.count <= session.router.limits.maxHeaderCount {
                stream.headers.add(name: nameText, value: valueText)
            }
            return 0
        }

        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            guard let frame else { return 0 }
            let session = HTTP2Session.from(user)
            let header = frame.pointee.hd
            guard header.type == headersType || header.type == dataType,
                  let stream = session.streams[header.stream_id]
            else { return 0 }
            if header.type == headersType && stream.phase == .headers {
                session.headersComplete(stream)
            }
            if header.flags & endStreamFlag != 0 {
                session.requestEnded(stream)
            }
            return 0
        }

        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, user in
            let session = HTTP2Session.from(user)
            guard let data, let stream = session.streams[streamID] else { return 0 }
            session.bodyChunk(stream, UnsafeRawBufferPointer(start: data, count: length))
            return 0
        }

        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, user in
            guard let frame else { return 0 }
            let header = frame.pointee.hd
            guard header.type == headersType || header.type == dataType, header.flags & endStreamFlag != 0 else { return 0 }
            let session = HTTP2Session.from(user)
            if let stream = session.streams[header.stream_id] { session.endStreamSent(stream) }
            return 0
        }

        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, _, user in
            HTTP2Session.from(user).streamClosed(streamID)
            return 0
        }

        return callbacks
    }

    /// The response body provider (see ``readBody(_:into:length:flags:)``).
    static let readBody: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, user in
        let session = HTTP2Session.from(user)
        guard let buffer, let flags, let stream = session.streams[streamID] else {
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        return session.readBody(stream, into: buffer, length: length, flags: flags)
    }
}
