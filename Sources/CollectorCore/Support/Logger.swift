/// Severity of a log line.
public enum LogLevel: Int, Sendable, Comparable, CustomStringConvertible {
    case debug = 0, info, warn, error

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warn: "warn"
        case .error: "error"
        }
    }
}

/// The collector's own log. Libraries take one; only the daemon decides where lines go
/// (`sink`), so components stay free of I/O and tests can capture what is logged.
public struct Logger: Sendable {
    public typealias Sink = @Sendable (LogLevel, String) -> Void

    public var minimum: LogLevel
    public var component: String?
    private let sink: Sink

    public init(minimum: LogLevel = .info, component: String? = nil, sink: @escaping Sink) {
        self.minimum = minimum
        self.component = component
        self.sink = sink
    }

    /// A logger whose lines carry `component` (for example `exporter/debug`).
    public func named(_ component: String) -> Logger {
        var copy = self
        copy.component = component
        return copy
    }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level >= minimum else { return }
        if let component {
            sink(level, "\(component): \(message())")
        } else {
            sink(level, message())
        }
    }

    public func debug(_ m: @autoclosure () -> String) { log(.debug, m()) }
    public func info(_ m: @autoclosure () -> String) { log(.info, m()) }
    public func warn(_ m: @autoclosure () -> String) { log(.warn, m()) }
    public func error(_ m: @autoclosure () -> String) { log(.error, m()) }

    /// Drops everything.
    public static let discarding = Logger(minimum: .error, sink: { _, _ in })
}
