import CollectorCore
import Dispatch
import ExporterHelper
import OTLPCodec
import Synchronization
import Transport

/// One OTLP/gRPC attempt to a server: `TraceService/Export` or `LogsService/Export`, with the
/// exporter's compression, headers and timeout, classified as the OTLP spec says (UNAVAILABLE,
/// DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, DATA_LOSS, CANCELLED and connection failures
/// retryable; RESOURCE_EXHAUSTED only with a RetryInfo, whose delay is kept; the rest drop the
/// data). An answer with `partial_success` is delivered; its rejected items are logged and
/// counted, never retried. Thread-safe (the gRPC client multiplexes calls on one connection).
public struct OTLPGRPCSender: Sendable {
    public let client: GRPCClient
    let settings: OTLPExporterSettings
    let metadata: HTTPHeaders
    let logger: Logger
    let partiallyRejected: @Sendable (Signal, Int) -> Void

    public static func path(_ signal: Signal) -> String {
        OTLPSignal(signal).grpcPath
    }

    public init(host: String, port: Int, settings: OTLPExporterSettings, logger: Logger,
         partiallyRejected: @escaping @Sendable (Signal, Int) -> Void) throws(ComponentError) {
        var configuration = HTTP2ClientConfiguration(host: host, port: port, tls: settings.tls.insecure ? nil : settings.tls)
        configuration.authority = "\(host):\(port)"
        do {
            client = try GRPCClient(configuration: configuration)
        } catch {
            throw .permanent("cannot set up the connection to \(host):\(port): \(error)")
        }
        self.settings = settings
        var metadata = HTTPHeaders()
        for (name, value) in settings.headers.sorted(by: { $0.key < $1.key }) { metadata.add(name: name, value: value) }
        self.metadata = metadata
        self.logger = logger
        self.partiallyRejected = partiallyRejected
    }

    /// One call, waited for (the caller's thread blocks; the connection's work is on its own
    /// queue). Use `send(_:signal:completion:)` to send several at once without blocking threads.
    public func send(_ payload: [UInt8], signal: Signal) -> SendAttempt {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<SendAttempt?>(nil)
        send(payload, signal: signal) { answer in
            result.withLock { $0 = answer }
            done.signal()
        }
        done.wait()
        return result.withLock { $0 }!
    }

    /// One call; `completion` gets its classified outcome on the connection's queue.
    public func send(_ payload: [UInt8], signal: Signal, completion: @escaping @Sendable (SendAttempt) -> Void) {
        let compression: GRPCCompression = switch settings.compression {
        case .gzip: .gzip
        case .zstd: .zstd
        case .none: .none
        }
        let logger = self.logger
        let partiallyRejected = self.partiallyRejected
        client.call(path: Self.path(signal), message: payload, metadata: metadata, compression: compression,
                    timeoutNanos: settings.timeout) { answer in
            switch answer {
            case .success(let response):
                if let partial = OTLPResponse.partialSuccess(response) {
                    partiallyRejected(signal, partial.rejected)
                    logger.warn("partial success: the server rejected \(partial.rejected) \(signal.itemMetricName): \(partial.message)")
                }
                completion(.delivered)
            case .failure(let error):
                let why = "export failed (\(error.status): \(error.message))"
                completion(error.isRetryable ? .retry(after: error.retryDelayNanos, why) : .permanent(why))
            }
        }
    }

    public func close() {
        let client = self.client
        Task { await client.shutdown(deadline: .now() + 5) }
    }
}
