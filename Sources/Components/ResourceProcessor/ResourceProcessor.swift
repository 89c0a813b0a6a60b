import AttributeActions
import Buffers
import CollectorCore
import OTLPCodec

/// The `resource` processor: applies its actions to the attributes of every resource of a
/// traces or logs request, as the OpenTelemetry Collector's does.
///
/// On the wire format (`ResourceRewrite`): only the `Resource` messages are rewritten, and a
/// request whose resources no action changed is passed on as it came. Stateless.
public final class ResourceProcessor: Processor {
    let editor: AttributeEditor
    private let logger: Logger
    /// Payloads of replaced batches, written into by the next rewrites (pipeline queue only).
    private var spare = SpareBuffers()

    public init(settings: ResourceSettings, logger: Logger) {
        editor = AttributeEditor(settings.actions)
        self.logger = logger
    }

    public var nextDeadline: UInt64? { nil }
    public func timerFired(now: UInt64, emit: (TelemetryBatch) -> Void) {}
    public func flush(emit: (TelemetryBatch) -> Void) {}

    public func process(_ batch: TelemetryBatch, now: UInt64, emit: (TelemetryBatch) -> Void) {
        WireRewrite.process(batch, logger: logger, what: "resource actions", spare: &spare, emit: emit) { raw, out in
            try ResourceRewrite.rewrite(raw, into: &out) { list, _ in editor.apply(&list, source: raw) }
        }
    }

    /// The request with every resource edited; nil when nothing changed.
    func rewrite(_ raw: UnsafeRawBufferPointer) throws -> [UInt8]? {
        try ResourceRewrite.rewrite(raw) { list, _ in editor.apply(&list, source: raw) }
    }
}
