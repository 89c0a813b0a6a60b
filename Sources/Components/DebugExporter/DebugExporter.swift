import CollectorCore
import OTLPCodec
import Synchronization

/// The `debug` exporter: writes what it receives to standard output, as the OTel Collector's
/// debug exporter does, at `basic` (one line per batch), `normal` (one line per span or log
/// record) or `detailed` (everything) verbosity. The formats are `DebugFormatter`'s.
///
/// Writing is done when `export` returns, so the batch counts as delivered then. Called on its
/// stage's serial queue only (see `Exporter`).
public final class DebugExporter: Exporter {
    public typealias Writer = @Sendable (String) -> Void

    private let settings: DebugSettings
    private let formatter: DebugFormatter
    private let write: Writer
    private let sampler: Mutex<DebugSampler>

    public init(settings: DebugSettings, clock: any MonotonicClock = SystemClock(), write: @escaping Writer) {
        self.settings = settings
        self.write = write
        self.sampler = Mutex(DebugSampler(initial: settings.samplingInitial, thereafter: settings.samplingThereafter, clock: clock))
        let verbosity: DebugFormatter.Verbosity = switch settings.verbosity {
        case .basic: .basic
        case .normal: .normal
        case .detailed: .detailed
        }
        formatter = DebugFormatter(verbosity: verbosity)
    }

    public func start() throws {}

    public func export(_ batch: TelemetryBatch) throws(ComponentError) {
        guard sampler.withLock({ $0.admit() }) else { return }
        let signal = OTLPSignal(batch.signal)
        let text: String
        do {
            text = try formatter.format(signal, batch.payload)
        } catch {
            throw .permanent("debug exporter could not decode the batch: \(error)")
        }
        write(text.hasSuffix("\n") ? text : text + "\n")
    }

    public func shutdown() {}
}

/// The OTel Collector's debug sampling: in each second, the first `initial` batches are printed,
/// then every `thereafter`-th. With the defaults (2, 1) everything is printed.
struct DebugSampler: Sendable {
    let initial: Int
    let thereafter: Int
    let clock: any MonotonicClock
    private var windowStart: UInt64 = 0
    private var seen = 0

    init(initial: Int, thereafter: Int, clock: any MonotonicClock) {
        self.initial = max(1, initial)
        self.thereafter = max(1, thereafter)
        self.clock = clock
    }

    mutating func admit() -> Bool {
        let now = clock.now()
        if now - windowStart >= 1_000_000_000 || seen == 0 {
            windowStart = now
            seen = 0
        }
        seen += 1
        if seen <= initial { return true }
        return (seen - initial) % thereafter == 0
    }
}
