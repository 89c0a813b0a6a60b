import CollectorCore
import ExporterHelper
import HTTPClient
import OTLPCodec
import enum Transport.Gzip

/// Sends OTLP/HTTP export requests for one signal: merges the batches given (serialized
/// requests concatenate into one), encodes (protobuf, or OTLP/JSON), compresses, posts, and
/// retries what the OTLP/HTTP spec says is retryable (429, 502, 503, 504, with Retry-After;
/// and a connection that failed or timed out); every other answer drops the data, counted and
/// logged. A 2xx with `partial_success` is delivered: the rejected items are logged and counted,
/// never retried (they would be rejected again). Stateless apart from metrics.
struct OTLPHTTPSender: Sendable {
    let signal: Signal
    let client: HTTPClient
    let path: String
    let settings: OTLPHTTPSettings
    let retrier: Retrier
    let metrics: OTLPHTTPMetrics
    let logger: Logger

    /// Delivers `payloads` as one request; retries until delivered, dropped, interrupted or
    /// `giveUpAfter` ns passed (nil: never give up).
    func deliver(_ payloads: [[UInt8]], giveUpAfter: UInt64?) -> Delivery {
        var merged = payloads.count == 1 ? payloads[0] : []
        if payloads.count > 1 { for payload in payloads { merged += payload } }
        let otlp = OTLPSignal(signal)
        var headers: [(name: String, value: String)] = []
        var body = merged
        if settings.encoding == .json {
            do {
                body = try OTLPJSON.encode(otlp, protobuf: merged)
            } catch {
                logger.error("dropping a batch of \(merged.count) bytes that does not encode as OTLP/JSON: \(error)")
                return .dropped("not encodable: \(error)")
            }
            headers.append(("Content-Type", "application/json"))
        } else {
            headers.append(("Content-Type", "application/x-protobuf"))
        }
        if settings.compression == .gzip {
            body = Gzip.compress(body, level: 6)
            headers.append(("Content-Encoding", "gzip"))
        }
        for (name, value) in settings.headers.sorted(by: { $0.key < $1.key }) { headers.append((name, value)) }
        let request = HTTPRequest(method: "POST", path: path, headers: headers, body: body)
        return retrier.run(giveUpAfter: giveUpAfter, onRetry: { attempt, delay, why in
            metrics.retries.increment()
            logger.warn("\(why); retry \(attempt) in \(delay / 1_000_000)ms")
        }) {
            switch client.send(request) {
            case .success(let response):
                metrics.request(status: response.status).increment()
                return classify(response)
            case .failure(let error):
                metrics.request(status: nil).increment()
                let why = "export failed (\(error.message))"
                return error.isRetryable ? .retry(after: nil, why) : .permanent(why)
            }
        }
    }

    /// What an answer means (the OTLP/HTTP spec's "Failures" and "Partial success").
    func classify(_ response: HTTPResponse) -> SendAttempt {
        let status = response.status
        switch status {
        case 200..<300:
            if response.header("Content-Type")?.hasPrefix("application/x-protobuf") != false,
               let partial = OTLPResponse.partialSuccess(response.body) {
                metrics.partiallyRejected.add(partial.rejected)
                logger.warn("partial success: the server rejected \(partial.rejected) \(signal.itemMetricName): \(partial.message)")
            }
            return .delivered
        case 429, 502, 503, 504:
            return .retry(after: response.header("Retry-After").flatMap(Backoff.parseRetryAfter),
                          "export failed (status \(status))")
        default:
            let text = String(decoding: response.body.prefix(512), as: UTF8.self)
            return .permanent("the server refused the export with status \(status): \(text)")
        }
    }
}
