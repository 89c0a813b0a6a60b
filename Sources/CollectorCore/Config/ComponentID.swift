/// `type[/name]`, as in the OTel Collector config (`otlp`, `otlp/internal`).
public struct ComponentID: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var type: String
    public var name: String?

    public init(type: String, name: String? = nil) {
        self.type = type
        self.name = name
    }

    /// Parses `type` or `type/name`; nil when malformed.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let valid: (Substring) -> Bool = { !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || "_-.".contains($0) } }
        guard let first = parts.first, valid(first) else { return nil }
        if parts.count == 2 {
            guard !parts[1].isEmpty, !parts[1].contains(where: { $0.isWhitespace }) else { return nil }
            self.init(type: String(first), name: String(parts[1]))
        } else {
            self.init(type: String(first))
        }
    }

    public var description: String { name.map { "\(type)/\($0)" } ?? type }

    public static func < (a: ComponentID, b: ComponentID) -> Bool { a.description < b.description }
}

public enum ComponentKind: String, Sendable, CaseIterable {
    case receiver, processor, exporter
    case `extension`
    /// An exporter of one pipeline and a receiver of others (`forward`, `spanmetrics`).
    case connector

    /// The top-level config section of this kind.
    public var section: String {
        switch self {
        case .receiver: "receivers"
        case .processor: "processors"
        case .exporter: "exporters"
        case .extension: "extensions"
        case .connector: "connectors"
        }
    }
}

/// A component's parsed settings. Compared on reload to decide what to rebuild.
public protocol ComponentSettings: Sendable {
    func isSame(as other: any ComponentSettings) -> Bool
}

extension ComponentSettings where Self: Equatable {
    public func isSame(as other: any ComponentSettings) -> Bool {
        (other as? Self) == self
    }
}

/// Knows one component type: its kind, the signals it handles and how to read its settings
/// (complete defaults, validation). Creating instances is the service's job (see
/// `CollectorService`'s factories), so this stays free of I/O.
public protocol ComponentFactory: Sendable {
    var type: String { get }
    var kind: ComponentKind { get }
    /// Signals the component can be used with (empty for extensions; for connectors, every
    /// signal of a pair it supports).
    var signals: Set<Signal> { get }
    /// Reads the settings; problems go to the reader's sink. Must read every known key.
    func parseSettings(_ reader: ConfigReader) -> any ComponentSettings
}

/// Settings of exporters that size the ring in front of them (`sending_queue.queue_size`).
public protocol ExporterQueueSettings: ComponentSettings {
    var queueSize: Int { get }
}
