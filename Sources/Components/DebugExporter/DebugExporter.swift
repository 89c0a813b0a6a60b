import CollectorCore
import OTLPCodec

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

    public init(settings: DebugSettings, write: @escaping Writer) {
        self.settings = settings
        self.write = write
        let verbosity: DebugFormatter.Verbosity = switch settings.verbosity {
        case .basic: .basic
        case .normal: .normal
        case .detailed: .detailed
        }
        formatter = DebugFormatter(verbosity: verbosity)
    }

    public func start() throws {}

    public func export(_ batch: TelemetryBatch) throws(ComponentError) {
        let signal: OTLPSignal = batch.signal == .traces ? .traces : .logs
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
