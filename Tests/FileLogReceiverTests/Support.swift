import CollectorCore
import Foundation
import OTLPCodec
import Synchronization
@testable import FileLogReceiver

/// One decoded log record, as the fake consumer saw it.
struct SeenRecord: Sendable, Equatable {
    var body: String
    var timeUnixNano: UInt64
    /// The string-valued attributes.
    var attributes: [String: String]
    var resource: [String: String]
    var traceID = ""
    var spanID = ""
    var severityText = ""
    var severityNumber = 0
    var flags = 0
    /// The attributes of other value types (int, double, bool; anything else is `.other`).
    var otherAttributes: [String: SeenValue] = [:]
}

enum SeenValue: Sendable, Equatable {
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case other(String)
}

/// A consumer that decodes every batch with OTLPCodec (independently of the receiver's encoder),
/// records what it saw and acknowledges it, unless told to refuse (pipeline full) or to hold
/// acknowledgements (a batch in flight at a crash).
final class FakeConsumer: Consumer {
    struct State {
        var records: [SeenRecord] = []
        var refuse = false
        var holdAcks = false
        var held: [TelemetryBatch] = []
        var refusals = 0
        var decodeErrors: [String] = []
        var origins: [[BatchOrigin]] = []
    }
    let state = Mutex(State())

    func consume(_ batch: TelemetryBatch) throws(ComponentError) {
        let refuse = state.withLock { s -> Bool in
            if s.refuse { s.refusals += 1 }
            return s.refuse
        }
        if refuse { throw .retryable("pipeline full") }
        let decoded = Self.decode(batch.payload)
        let hold = state.withLock { s -> Bool in
            switch decoded {
            case .success(let r): s.records += r
            case .failure(let e): s.decodeErrors.append("\(e)")
            }
            s.origins.append(batch.origins)
            if s.holdAcks { s.held.append(batch) }
            return s.holdAcks
        }
        if !hold { batch.complete() }
    }

    var records: [SeenRecord] { state.withLock { $0.records } }
    var bodies: [String] { records.map(\.body) }

    static func decode(_ payload: [UInt8]) -> Result<[SeenRecord], any Error> {
        do {
            let json = try OTLPJSON.encode(.logs, protobuf: payload)
            let root = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] ?? [:]
            var out: [SeenRecord] = []
            for rl in root["resourceLogs"] as? [[String: Any]] ?? [] {
                let resource = attributes((rl["resource"] as? [String: Any])?["attributes"])
                for sl in rl["scopeLogs"] as? [[String: Any]] ?? [] {
                    for r in sl["logRecords"] as? [[String: Any]] ?? [] {
                        let body = ((r["body"] as? [String: Any])?["stringValue"] as? String) ?? ""
                        let time = UInt64(r["timeUnixNano"] as? String ?? "0") ?? 0
                        var seen = SeenRecord(body: body, timeUnixNano: time, attributes: attributes(r["attributes"]), resource: resource)
                        seen.otherAttributes = otherAttributes(r["attributes"])
                        seen.flags = r["flags"] as? Int ?? 0
                        seen.traceID = r["traceId"] as? String ?? ""
                        seen.spanID = r["spanId"] as? String ?? ""
                        seen.severityText = r["severityText"] as? String ?? ""
                        seen.severityNumber = r["severityNumber"] as? Int ?? 0
                        out.append(seen)
                    }
                }
            }
            return .success(out)
        } catch {
            return .failure(error)
        }
    }

    /// OTLP/JSON: `intValue` is a decimal string (int64), `doubleValue` a number, `boolValue` a bool.
    private static func otherAttributes(_ any: Any?) -> [String: SeenValue] {
        var out: [String: SeenValue] = [:]
        for kv in any as? [[String: Any]] ?? [] {
            guard let k = kv["key"] as? String, let v = kv["value"] as? [String: Any], v["stringValue"] == nil else { continue }
            if let i = v["intValue"] {
                out[k] = (i as? String).flatMap { Int64($0) }.map(SeenValue.int) ?? (i as? NSNumber).map { .int($0.int64Value) } ?? .other("\(i)")
            } else if let d = v["doubleValue"] as? NSNumber {
                out[k] = .double(d.doubleValue)
            } else if let b = v["boolValue"] as? Bool {
                out[k] = .bool(b)
            } else {
                out[k] = .other("\(v)")
            }
        }
        return out
    }

    private static func attributes(_ any: Any?) -> [String: String] {
        var out: [String: String] = [:]
        for kv in any as? [[String: Any]] ?? [] {
            if let k = kv["key"] as? String, let v = (kv["value"] as? [String: Any])?["stringValue"] as? String { out[k] = v }
        }
        return out
    }
}

/// A temporary directory removed at deinit.
final class TempDir {
    let path: String
    init(base: String = NSTemporaryDirectory()) {
        path = base + "filelog-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func sub(_ name: String) -> String { path + "/" + name }
}

enum Files {
    static func append(_ path: String, _ text: String) { append(path, Array(text.utf8)) }

    static func append(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        precondition(fd >= 0, "open \(path): \(errno)")
        bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    static func lines(_ range: Range<Int>, prefix: String = "line") -> String {
        range.map { "\(prefix) \(String(format: "%05d", $0)) some payload text\n" }.joined()
    }
}

/// Polls `condition` every 10ms until it holds or `timeout` seconds pass.
@discardableResult
func eventually(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}

final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])
}

/// A running receiver with its consumer and metrics.
final class Harness {
    let receiver: FileLogReceiver
    let consumer: FakeConsumer
    let metrics = MetricsRegistry()
    let log = LogCapture()

    /// `pipeline` (default: `consumer`) is what the receiver hands its batches to.
    init(_ settings: FileLogSettings, consumer: FakeConsumer = FakeConsumer(), pipeline: (any Consumer)? = nil,
         name: String = "filelog") throws {
        self.consumer = consumer
        let log = self.log
        let logger = Logger(minimum: .info, sink: { level, line in log.lines.withLock { $0.append("\(level): \(line)") } })
        receiver = FileLogReceiver(name: name, settings: settings, metrics: metrics, logger: logger)
        receiver.setConsumer(pipeline ?? consumer, for: .logs)
        try receiver.start()
    }

    func stop() {
        let done = DispatchSemaphore(value: 0)
        receiver.shutdown(deadline: .now() + 5) { done.signal() }
        done.wait()
    }

    func counter(_ name: String) -> UInt64 {
        metrics.counter(name, help: "", labels: [("receiver", "filelog")]).current
    }

    static func settings(_ dir: TempDir, include: [String], startAt: FileLogSettings.StartAt = .beginning) -> FileLogSettings {
        var s = FileLogSettings()
        s.include = include
        s.startAt = startAt
        s.pollInterval = 20_000_000
        s.forceFlushPeriod = 100_000_000
        s.rotateWait = 300_000_000
        s.storage = dir.sub("storage")
        s.includeFilePath = true
        return s
    }
}

/// The bodies `line NNNNN ...` as numbers, in arrival order.
func lineNumbers(_ bodies: [String]) -> [Int] {
    bodies.compactMap { b in
        let parts = b.split(separator: " ")
        return parts.count > 1 ? Int(parts[1]) : nil
    }
}
