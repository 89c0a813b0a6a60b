import CNghttp2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/2 (h2c prior knowledge) test client on nghttp2's client session.
///
/// Submit any number of requests, then `run` the loop until they are answered. Not
/// thread-safe: one test owns an instance and drives it from one thread.
final class H2TestClient {
    struct Response {
        var headers: [(String, String)] = []
        var trailers: [(String, String)] = []
        var body: [UInt8] = []
        var closed = false
        /// Error code of the stream's closure (0 = NO_ERROR), from on_stream_close.
        var closeCode: UInt32 = 0
        /// Set when the server sent RST_STREAM.
        var resetCode: UInt32?

        var status: Int? { header(":status").flatMap(Int.init) }
        func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
        func trailer(_ name: String) -> String? { trailers.first { $0.0 == name }?.1 }
        /// grpc-status from trailers, or from headers for trailers-only responses.
        var grpcStatus: Int? { (trailer("grpc-status") ?? header("grpc-status")).flatMap(Int.init) }
        var grpcMessage: String? { trailer("grpc-message") ?? header("grpc-message") }
        /// The gRPC response message (body without its 5-byte prefix).
        var grpcMessageBytes: [UInt8]? { body.count >= 5 ? Array(body[5...]) : nil }
    }

    let fd: Int32
    private var session: OpaquePointer?
    private(set) var responses: [Int32: Response] = [:]
    private var bodies: [Int32: (bytes: [UInt8], offset: Int)] = [:]
    /// Streams whose body ends without END_STREAM (the request stays unfinished).
    private var unfinished: Set<Int32> = []
    private(set) var goawayReceived = false
    private(set) var peerClosed = false

    /// The descriptor is stored only once connected (`deinit` closes it; a second close of a
    /// failed connect's number could close another test's socket).
    init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw TestFailure("connect failed: errno \(e)")
        }
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))

        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            let client = Unmanaged<H2TestClient>.fromOpaque(user!).takeUnretainedValue()
            let id = frame!.pointee.hd.stream_id
            let pair = (String(decoding: UnsafeBufferPointer(start: name, count: nameLength), as: UTF8.self),
                        String(decoding: UnsafeBufferPointer(start: value, count: valueLength), as: UTF8.self))
            if frame!.pointee.headers.cat == NGHTTP2_HCAT_HEADERS && client.responses[id]?.headers.isEmpty == false {
                client.responses[id, default: Response()].trailers.append(pair)
            } else {
                client.responses[id, default: Response()].headers.append(pair)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, id, data, length, user in
            let client = Unmanaged<H2TestClient>.fromOpaque(user!).takeUnretainedValue()
            client.responses[id, default: Response()].body.append(contentsOf: UnsafeBufferPointer(start: data, count: length))
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            let client = Unmanaged<H2TestClient>.fromOpaque(user!).takeUnretainedValue()
            let header = frame!.pointee.hd
            if header.type == UInt8(NGHTTP2_RST_STREAM.rawValue) {
                client.responses[header.stream_id, default: Response()].resetCode = frame!.pointee.rst_stream.error_code
            } else if header.type == UInt8(NGHTTP2_GOAWAY.rawValue) {
                client.goawayReceived = true
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, id, code, user in
            let client = Unmanaged<H2TestClient>.fromOpaque(user!).takeUnretainedValue()
            client.responses[id, default: Response()].closed = true
            client.responses[id, default: Response()].closeCode = code
            client.bodies[id] = nil
            return 0
        }
        nghttp2_session_client_new(&session, callbacks, Unmanaged.passUnretained(self).toOpaque())
        let settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: 16 << 20),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: 100),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), settings, settings.count)
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, 64 << 20)
    }

    deinit {
        nghttp2_session_del(session)
        Glibc.close(fd)
    }

    /// Queues a request; returns its stream id.
    @discardableResult
    /// With `endStream` false the body is sent without END_STREAM: the request never completes.
    func submit(method: String = "POST", path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                endStream: Bool = true) -> Int32 {
        let fields = [(":method", method), (":scheme", "http"), (":authority", "127.0.0.1"), (":path", path)] + headers
        var storage: [UInt8] = []
        var spans: [(Int, Int, Int, Int)] = []
        for (name, value) in fields {
            let nameStart = storage.count
            storage += Array(name.utf8)
            let valueStart = storage.count
            storage += Array(value.utf8)
            spans.append((nameStart, valueStart - nameStart, valueStart, storage.count - valueStart))
        }
        return storage.withUnsafeMutableBufferPointer { buffer -> Int32 in
            let base = buffer.baseAddress!
            // nghttp2 copies names and values during submit.
            let nva = spans.map {
                nghttp2_nv(name: base + $0.0, value: base + $0.2, namelen: $0.1, valuelen: $0.3,
                           flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            guard let body else {
                return nghttp2_submit_request(session, nil, nva, nva.count, nil, nil)
            }
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil)) { _, id, buffer, length, flags, _, user in
                let client = Unmanaged<H2TestClient>.fromOpaque(user!).takeUnretainedValue()
                guard let entry = client.bodies[id] else {
                    flags!.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                    return 0
                }
                let count = min(length, entry.bytes.count - entry.offset)
                entry.bytes.withUnsafeBytes { raw in
                    if count > 0 { UnsafeMutableRawPointer(buffer!).copyMemory(from: raw.baseAddress! + entry.offset, byteCount: count) }
                }
                client.bodies[id]!.offset += count
                if entry.offset + count == entry.bytes.count {
                    flags!.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                    if client.unfinished.contains(id) { flags!.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue }
                }
                return count
            }
            let id = nghttp2_submit_request(session, nil, nva, nva.count, &provider, nil)
            if id > 0 {
                bodies[id] = (body, 0)
                if !endStream { unfinished.insert(id) }
            }
            return id
        }
    }

    /// Drives the session until `done` or the timeout.
    func run(timeout: TimeInterval = 20, until done: (H2TestClient) -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        while !done(self) {
            try flushOutput()
            if done(self) { break }
            if peerClosed { throw TestFailure("server closed the connection") }
            if Date() > deadline { throw TestFailure("timed out") }
            var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollfd, 1, 20) > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }  // e.g. SIGCHLD
            if count <= 0 {
                peerClosed = true
                continue
            }
            let rc = chunk.withUnsafeBytes {
                nghttp2_session_mem_recv(session, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count)
            }
            if rc < 0 { throw TestFailure("nghttp2_session_mem_recv: \(rc)") }
        }
        try flushOutput()
    }

    /// Runs until every listed stream is closed.
    func wait(for ids: [Int32], timeout: TimeInterval = 20) throws {
        try run(timeout: timeout) { client in ids.allSatisfy { client.responses[$0]?.closed == true } }
    }

    /// Sends one request and waits for its response.
    func call(method: String = "POST", path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws -> Response {
        let id = submit(method: method, path: path, headers: headers, body: body)
        try wait(for: [id])
        return responses[id]!
    }

    /// Sends a gRPC unary call with a length-prefixed message.
    func grpc(path: String, message: [UInt8], compressed: Bool = false, headers: [(String, String)] = []) throws -> Response {
        var framed: [UInt8] = [compressed ? 1 : 0]
        let length = UInt32(message.count)
        framed += [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        framed += message
        return try call(path: path, headers: [("content-type", "application/grpc"), ("te", "trailers")] + headers, body: framed)
    }

    /// Sends what is queued and reads what has arrived, for up to `seconds`.
    func pump(seconds: TimeInterval) throws {
        let end = Date().addingTimeInterval(seconds)
        try run(timeout: seconds + 5) { _ in Date() > end }
    }

    /// A SETTINGS value the server sent.
    func remoteSetting(_ id: nghttp2_settings_id) -> UInt32 {
        nghttp2_session_get_remote_settings(session, id)
    }

    /// Cancels a stream (RST_STREAM CANCEL).
    func reset(stream id: Int32) {
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, NGHTTP2_CANCEL.rawValue)
    }

    /// Waits until the server's GOAWAY arrives or the server closes.
    func waitForGoaway(timeout: TimeInterval = 5) throws {
        try run(timeout: timeout) { $0.goawayReceived || $0.peerClosed }
    }

    private func flushOutput() throws {
        while true {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 { throw TestFailure("nghttp2_session_mem_send: \(count)") }
            if count == 0 { return }
            var offset = 0
            while offset < count {
                let sent = Glibc.send(fd, data! + offset, count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    peerClosed = true
                    return
                }
                offset += sent
            }
        }
    }
}
