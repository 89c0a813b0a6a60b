import Synchronization

/// The collector's own metrics, rendered in the Prometheus text format (version 0.0.4).
///
/// Metrics are identified by name and label set. Asking twice for the same counter returns the
/// same instance, so a component rebuilt by a config reload keeps counting where the old one
/// stopped. Gauges can also be sampled from a closure at scrape time (ring fill levels, RSS);
/// such a callback is replaced by registering the same name and labels again and removed with
/// `removeCallback`. Thread-safe.
public final class MetricsRegistry: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public typealias Labels = [(String, String)]

    fileprivate enum Instrument: Sendable {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(Histogram)
        case callback(id: UInt64, @Sendable () -> Double)
    }

    private struct Family: Sendable {
        var kind: Kind
        var help: String
        var series: [String: (labels: Labels, instrument: Instrument)] = [:]
    }

    private let families = Mutex<[String: Family]>([:])
    private let nextCallbackID = Atomic<UInt64>(1)

    public init() {}

    public func counter(_ name: String, help: String, labels: Labels = []) -> Counter {
        instrument(name, .counter, help, labels, make: { .counter(Counter()) }) {
            if case .counter(let c) = $0 { return c }
            return nil
        }
    }

    public func gauge(_ name: String, help: String, labels: Labels = []) -> Gauge {
        instrument(name, .gauge, help, labels, make: { .gauge(Gauge()) }) {
            if case .gauge(let g) = $0 { return g }
            return nil
        }
    }

    public func histogram(_ name: String, help: String, labels: Labels = [], bounds: [Double]) -> Histogram {
        instrument(name, .histogram, help, labels, make: { .histogram(Histogram(bounds: bounds)) }) {
            if case .histogram(let h) = $0 { return h }
            return nil
        }
    }

    /// Registers (or replaces) a gauge or counter sampled by `sample` at scrape time. The
    /// returned id removes it again, unless a later registration replaced it.
    @discardableResult
    public func callback(_ name: String, kind: Kind = .gauge, help: String, labels: Labels = [],
                         sample: @escaping @Sendable () -> Double) -> UInt64 {
        let id = nextCallbackID.add(1, ordering: .relaxed).oldValue
        families.withLock { all in
            var family = all[name] ?? Family(kind: kind, help: help)
            family.series[Self.key(labels)] = (labels, .callback(id: id, sample))
            all[name] = family
        }
        return id
    }

    public func removeCallback(_ name: String, labels: Labels = [], id: UInt64) {
        families.withLock { all in
            guard var family = all[name] else { return }
            if case .callback(let current, _) = family.series[Self.key(labels)]?.instrument, current == id {
                family.series[Self.key(labels)] = nil
                all[name] = family
            }
        }
    }

    private func instrument<T>(_ name: String, _ kind: Kind, _ help: String, _ labels: Labels,
                               make: () -> Instrument, extract: (Instrument) -> T?) -> T {
        families.withLock { all in
            var family = all[name] ?? Family(kind: kind, help: help)
            precondition(family.kind == kind, "metric \(name) registered as \(family.kind) and \(kind)")
            let key = Self.key(labels)
            if let existing = family.series[key], let found = extract(existing.instrument) {
                return found
            }
            let created = make()
            family.series[key] = (labels, created)
            all[name] = family
            return extract(created)!
        }
    }

    static func key(_ labels: Labels) -> String {
        labels.map { "\($0.0)=\($0.1)" }.joined(separator: "\u{1}")
    }

    /// The whole registry in the Prometheus text exposition format, families sorted by name.
    public func render() -> String {
        let snapshot = families.withLock { $0 }
        var out = ""
        for name in snapshot.keys.sorted() {
            let family = snapshot[name]!
            guard !family.series.isEmpty else { continue }
            out += "# HELP \(name) \(PrometheusText.escapeHelp(family.help))\n"
            out += "# TYPE \(name) \(family.kind.rawValue)\n"
            for key in family.series.keys.sorted() {
                let (labels, instrument) = family.series[key]!
                PrometheusText.append(name: name, labels: labels, instrument: instrument.sample, to: &out)
            }
        }
        return out
    }
}

fileprivate extension MetricsRegistry.Instrument {
    var sample: PrometheusText.Sample {
        switch self {
        case .counter(let c): .value(Double(c.current))
        case .gauge(let g): .value(Double(g.current))
        case .callback(_, let f): .value(f())
        case .histogram(let h):
            { let s = h.snapshot; return .histogram(bounds: h.bounds, cumulative: s.cumulative, sum: s.sum, count: s.count) }()
        }
    }
}
