import FoundationEssentials
import HTTPClient

/// Lists and watches over the shared HTTP client (`KubeConnection` says where and how to
/// authenticate). `list` follows `continue` pages; `watch` streams one JSON event per line
/// (lines may span chunks and a chunk may hold many) until the server ends the watch
/// (`timeoutSeconds`), the connection breaks, or the caller cancels.
public final class KubeAPIClient: Sendable {
    public let connection: KubeConnection
    let http: HTTPClient

    public init(_ connection: KubeConnection, timeoutNanos: UInt64 = 30_000_000_000) throws(KubeError) {
        self.connection = connection
        do {
            http = try HTTPClient(endpoint: connection.endpoint, tls: connection.tls, timeoutNanos: timeoutNanos,
                                  maxIdleConnections: 2, maxBodyBytes: 512 << 20)
        } catch {
            throw KubeError.config("Kubernetes API \(connection.endpoint): \(error)")
        }
    }

    public struct Selectors: Sendable, Equatable {
        public var field: String?
        public var label: String?
        public init(field: String? = nil, label: String? = nil) {
            self.field = field
            self.label = label
        }
    }

    /// Every item of `path` (e.g. `/api/v1/pods`) matching `selectors`, and the list's
    /// resourceVersion to watch from.
    public func list<Item: Decodable & Sendable>(_ path: String, _ type: Item.Type, selectors: Selectors = Selectors(),
                                                 pageSize: Int = 500, cancellation: HTTPCancellation? = nil)
        throws(KubeError) -> (items: [Item], resourceVersion: String) {
        var items: [Item] = []
        var next: String?
        var version = ""
        repeat {
            var query = Self.query(selectors) + [("limit", String(pageSize))]
            if let next { query.append(("continue", next)) }
            let body = try get(path, query, cancellation)
            let page: KubeList<Item>
            do {
                page = try JSONDecoder().decode(KubeList<Item>.self, from: Data(body))
            } catch {
                throw KubeError.malformed("Kubernetes API \(path): unexpected list JSON: \(error)")
            }
            items.append(contentsOf: page.items)
            if version.isEmpty { version = page.metadata.resourceVersion ?? "" }
            next = page.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
        } while next != nil
        return (items, version)
    }

    /// Watches `path` from `resourceVersion`, calling `event` for each event in order. Returns
    /// normally when the server ended the watch; throws `.gone` for a 410 (an ERROR event or an
    /// HTTP 410), `.transport` when the stream broke or went quiet for `idleTimeoutNanos`.
    public func watch<Object: Decodable & Sendable>(_ path: String, _ type: Object.Type, resourceVersion: String,
                                                    selectors: Selectors = Selectors(), timeoutSeconds: Int = 300,
                                                    idleTimeoutNanos: UInt64 = 90_000_000_000,
                                                    cancellation: HTTPCancellation? = nil,
                                                    event: (KubeWatchEvent<Object>) -> Void) throws(KubeError) {
        let query = [("watch", "1"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
                     ("timeoutSeconds", String(timeoutSeconds))] + Self.query(selectors)
        let request = try self.request(path, query)
        var status = 0
        var errorBody: [UInt8] = []
        var line: [UInt8] = []
        var failure: KubeError?
        let decoder = JSONDecoder()
        let result = http.stream(request, readTimeoutNanos: idleTimeoutNanos, cancellation: cancellation,
                                 head: { status = $0.status; return true },
                                 body: { piece in
                                     guard status == 200 else { errorBody.append(contentsOf: piece.prefix(65536)); return true }
                                     for byte in piece {
                                         guard byte == 10 else { line.append(byte); continue }
                                         if !line.isEmpty, failure == nil {
                                             failure = Self.deliver(line, decoder: decoder, path: path, event)
                                         }
                                         line.removeAll(keepingCapacity: true)
                                     }
                                     return failure == nil
                                 })
        if let failure { throw failure }
        switch result {
        case .failure(let error):
            throw KubeError.transport("Kubernetes API watch \(path): \(error)")
        case .success:
            if status != 200 { throw Self.statusError(status, errorBody, path) }
        }
    }

    private static func deliver<Object: Decodable & Sendable>(_ line: [UInt8], decoder: JSONDecoder, path: String,
                                                              _ event: (KubeWatchEvent<Object>) -> Void) -> KubeError? {
        let decoded: WatchLine<Object>
        do {
            decoded = try decoder.decode(WatchLine<Object>.self, from: Data(line))
        } catch {
            return .malformed("Kubernetes API watch \(path): undecodable event: \(error)")
        }
        guard let next = decoded.event else {
            return .malformed("Kubernetes API watch \(path): unknown event type \(decoded.type)")
        }
        if case .error(let status) = next {
            if status.code == 410 { return .gone("Kubernetes API watch \(path): \(status.message ?? "410 Gone")") }
            event(next)
            return .status(status.code ?? 0, status.message ?? "watch error")
        }
        event(next)
        return nil
    }

    /// A GET of `path` with `query`, authorized with the connection's current credentials.
    private func request(_ path: String, _ query: [(String, String)]) throws(KubeError) -> HTTPRequest {
        var request = HTTPRequest(path: path + (query.isEmpty ? "" : "?" + Self.encode(query)), headers: [("Accept", "application/json")])
        if let auth = try connection.authorization() { request.headers.append(("Authorization", auth)) }
        return request
    }

    private func get(_ path: String, _ query: [(String, String)], _ cancellation: HTTPCancellation?) throws(KubeError) -> [UInt8] {
        switch http.send(try request(path, query), cancellation: cancellation) {
        case .failure(let error): throw KubeError.transport("Kubernetes API \(path): \(error)")
        case .success(let response):
            guard response.status == 200 else { throw Self.statusError(response.status, response.body, path) }
            return response.body
        }
    }

    static func statusError(_ code: Int, _ body: [UInt8], _ path: String) -> KubeError {
        let message = (try? JSONDecoder().decode(KubeStatus.self, from: Data(body)))?.message
            ?? String(decoding: body.prefix(300), as: UTF8.self)
        if code == 410 { return .gone("Kubernetes API \(path): \(message)") }
        return .status(code, "\(path): \(message)")
    }

    static func query(_ selectors: Selectors) -> [(String, String)] {
        var q: [(String, String)] = []
        if let f = selectors.field, !f.isEmpty { q.append(("fieldSelector", f)) }
        if let l = selectors.label, !l.isEmpty { q.append(("labelSelector", l)) }
        return q
    }

    private static let hexDigits = Array("0123456789ABCDEF")

    /// `k=v&...`, percent-encoding everything but unreserved characters.
    static func encode(_ query: [(String, String)]) -> String {
        func escape(_ s: String) -> String {
            var out = ""
            for b in s.utf8 {
                switch b {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                    out.unicodeScalars.append(Unicode.Scalar(b))
                default:
                    out += "%" + String(hexDigits[Int(b >> 4)]) + String(hexDigits[Int(b & 15)])
                }
            }
            return out
        }
        return query.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }
}

/// One watch line decoded in one pass: what `object` is depends on `type`.
private struct WatchLine<Object: Decodable & Sendable>: Decodable {
    let type: String
    /// nil for a type this client does not know.
    let event: KubeWatchEvent<Object>?

    private enum CodingKeys: String, CodingKey { case type, object }

    private struct BookmarkObject: Decodable {
        struct Meta: Decodable { var resourceVersion: String? }
        var metadata: Meta
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        switch type {
        case "ADDED": event = .added(try c.decode(Object.self, forKey: .object))
        case "MODIFIED": event = .modified(try c.decode(Object.self, forKey: .object))
        case "DELETED": event = .deleted(try c.decode(Object.self, forKey: .object))
        case "BOOKMARK": event = .bookmark(resourceVersion: try c.decode(BookmarkObject.self, forKey: .object).metadata.resourceVersion ?? "")
        case "ERROR": event = .error(try c.decode(KubeStatus.self, forKey: .object))
        default: event = nil
        }
    }
}
