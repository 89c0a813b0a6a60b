import CollectorCore
import OTLPCodec
import Transport

/// Serves `TraceService/Export`, `LogsService/Export` and `MetricsService/Export` over gRPC.
enum OTLPGRPCHandler {
    /// The pipeline signal of each export method's path.
    static let paths: [String: Signal] = Dictionary(uniqueKeysWithValues: Signal.allCases.map { (OTLPSignal($0).grpcPath, $0) })

    /// `handler(ingest)` behind `auth`: a call without an accepted `authorization` is answered
    /// UNAUTHENTICATED and counted as rejected.
    static func handler(_ ingest: OTLPIngest, auth: ListenerAuth?) -> GRPCHandler {
        let serve = handler(ingest)
        guard let auth else { return serve }
        return { request, respond in
            guard auth.refusal(authorization: request.headers["authorization"]) == nil else {
                ingest.rejected(code: "UNAUTHENTICATED", transport: "grpc")
                return respond(GRPCResponse(status: .unauthenticated, message: "missing or invalid authorization"))
            }
            serve(request, respond)
        }
    }

    static func handler(_ ingest: OTLPIngest) -> GRPCHandler {
        { request, respond in
            guard let signal = paths[request.path] else {
                ingest.rejected(code: "UNIMPLEMENTED", transport: "grpc")
                return respond(GRPCResponse(status: .unimplemented, message: "unknown method \(request.path)"))
            }
            guard ingest.hasConsumer(for: signal) else {
                ingest.rejected(code: "UNIMPLEMENTED", transport: "grpc")
                return respond(GRPCResponse(status: .unimplemented, message: "unknown service for \(signal): the receiver is not in a \(signal) pipeline"))
            }
            ingest.ingest(signal, protobuf: request.message, transport: "grpc", peer: request.remoteAddress) { outcome in
                if case .invalid = outcome { ingest.rejected(code: "INVALID_ARGUMENT", transport: "grpc") }
                if case .tooLarge = outcome { ingest.rejected(code: "RESOURCE_EXHAUSTED", transport: "grpc") }
                respond(response(for: outcome, signal: signal))
            }
        }
    }

    static func response(for outcome: OTLPIngest.Outcome, signal: Signal) -> GRPCResponse {
        switch outcome {
        case .success:
            let body = OTLPResponse.encode(OTLPSignal(signal), rejected: 0, errorMessage: nil)
            return GRPCResponse(status: .ok, message: nil, body: body)
        case .invalid(let reason):
            return GRPCResponse(status: .invalidArgument, message: reason)
        case .tooLarge(let reason):
            return GRPCResponse(status: .resourceExhausted, message: reason)
        case .unsupported(let reason):
            return GRPCResponse(status: .unimplemented, message: reason)
        case .failed(let error):
            return GRPCResponse(status: error.isRetryable ? .unavailable : .invalidArgument, message: error.message)
        }
    }
}
