import Foundation
import Glibc
import Synchronization

/// A loopback TCP server for the client tests: each accepted connection runs `handler` on its
/// own thread with a `Peer` that reads requests and writes whatever bytes the test scripts.
final class ScriptedServer: Sendable {
    let port: Int
    private let listener: Int32
    private let accepted = Atomic<Int>(0)
    private let handler: @Sendable (Peer) -> Void

    var connections: Int { accepted.load(ordering: .sequentiallyConsistent) }

    init(handler: @escaping @Sendable (Peer) -> Void) throws {
        self.handler = handler
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(4))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            accepted.add(1, ordering: .sequentiallyConsistent)
            let peer = Peer(fd: fd)
            Thread { [handler] in
                handler(peer)
                peer.close()
            }.start()
        }
    }

    func stop() { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }

    /// `@unchecked Sendable`: used by the one handler thread of its connection.
    final class Peer: @unchecked Sendable {
        let fd: Int32
        private var buffer: [UInt8] = []
        private var closed = false

        init(fd: Int32) { self.fd = fd }

        /// The next request's head and body (by Content-Length), nil when the client closed.
        func readRequest() -> (head: String, body: [UInt8])? {
            while true {
                if let end = find([13, 10, 13, 10]) {
                    let head = String(decoding: buffer[..<end], as: UTF8.self)
                    var length = 0
                    for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                        length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                    while buffer.count < end + 4 + length { guard fill() else { return nil } }
                    let body = Array(buffer[(end + 4)..<(end + 4 + length)])
                    buffer.removeFirst(end + 4 + length)
                    return (head, body)
                }
                guard fill() else { return nil }
            }
        }

        func write(_ text: String) { write(Array(text.utf8)) }

        func write(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                offset += n
            }
        }

        func close() {
            guard !closed else { return }
            closed = true
            Glibc.close(fd)
        }

        private func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }

        private func find(_ needle: [UInt8]) -> Int? {
            guard buffer.count >= needle.count else { return nil }
            for i in 0...(buffer.count - needle.count) where buffer[i..<(i + needle.count)].elementsEqual(needle) { return i }
            return nil
        }
    }
}
