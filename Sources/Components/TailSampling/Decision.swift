/// A policy's verdict on a trace, as upstream's `samplingpolicy.Decision`.
public enum Decision: Sendable, Equatable {
    case sampled, notSampled, dropped
    /// `invert_match` policies: nothing matched (samples unless another policy said no) /
    /// something matched (vetoes every other policy but drop).
    case invertSampled, invertNotSampled

    /// The `sampled` and `decision` metric labels (inverted decisions as their plain equals).
    var labels: (sampled: String, decision: String) {
        switch self {
        case .sampled, .invertSampled: ("true", "sampled")
        case .notSampled, .invertNotSampled: ("false", "not_sampled")
        case .dropped: ("false", "dropped")
        }
    }

    /// 0 sampled, 1 not sampled, 2 dropped (the metric label sets).
    var labelIndex: Int {
        switch self {
        case .sampled, .invertSampled: 0
        case .notSampled, .invertNotSampled: 1
        case .dropped: 2
        }
    }

    /// Combines the top-level policies' decisions as upstream's `makeDecision`: any dropped
    /// drops; else any inverted not-sampled drops; else any sampled samples; else inverted
    /// sampled samples when no policy said not-sampled; else not sampled.
    static func combine(_ decisions: [Decision]) -> Decision {
        if decisions.contains(.dropped) { return .dropped }
        if decisions.contains(.invertNotSampled) { return .notSampled }
        if decisions.contains(.sampled) { return .sampled }
        if decisions.contains(.invertSampled) && !decisions.contains(.notSampled) { return .sampled }
        return .notSampled
    }
}
