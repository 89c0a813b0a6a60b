import CollectorCore
import ExporterHelper
import HTTPClient
import OTLPCodec

/// Sends queued OTLP logs to Loki: converts them (protobuf: `LokiTranscoder`, straight from
/// the OTLP wire format; JSON: decoded records -> `LokiStreamBuilder` -> `LokiJSONEncoder`),
/// posts, and retries (`Retrier`, classified by `LokiRetryPolicy`). Stateless apart from
/// metrics; called from one thread at a time (the sender loop, or `export` without a disk queue).
struct LokiSender: Sendable {

    let settings: LokiSettings
    let client: HTTPClient
    /// The push path on the client's endpoint.
    let path: String
    let builder: LokiStreamBuilder
    let transcoder: LokiTranscoder
    let retrier: Retrier
    let metrics: LokiMetrics
    let logger: Logger

    /// Delivers `payloads` (serialized `ExportLogsServiceRequest`s) as one push; retries until
    /// delivered, dropped, interrupted, or `giveUpAfter` ns passed (nil: never give up).
    func deliver(_ payloads: [[UInt8]], giveUpAfter: UInt64?) -> Delivery {
        if settings.format == .protobuf {
            // Straight from the OTLP wire format to Loki's (the same bytes as the path below).
            let out = transcoder.encode(payloads, now: LokiStreamBuilder.wallClockNanos())
            for (index, error) in out.undecodable {
                logger.error("dropping an undecodable batch of \(payloads[index].count) bytes: \(error)")
                metrics.dropped.increment()
            }
            guard out.entries > 0 else { return .delivered }
            return post(LokiProtobufEncoder.snappy(out.body), headers: headers(contentType: "application/x-protobuf"),
                        entries: out.entries, giveUpAfter: giveUpAfter)
        }
        var records: [OTLPLogRecord] = []
        for payload in payloads {
            do {
                records.append(contentsOf: try OTLPLogRecords.read(payload))
            } catch {
                logger.error("dropping an undecodable batch of \(payload.count) bytes: \(error)")
                metrics.dropped.increment()
            }
        }
        guard !records.isEmpty else { return .delivered }
        let streams = builder.streams(records)
        return post(LokiJSONEncoder.encode(streams), headers: headers(contentType: "application/json"),
                    entries: records.count, giveUpAfter: giveUpAfter)
    }

    private func headers(contentType: String) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("Content-Type", contentType)]
        if let tenant = settings.tenantID { headers.append(("X-Scope-OrgID", tenant)) }
        for (name, value) in settings.headers.sorted(by: { $0.key < $1.key }) { headers.append((name, value)) }
        return headers
    }

    private func post(_ body: [UInt8], headers: [(name: String, value: String)], entries: Int, giveUpAfter: UInt64?) -> Delivery {
        var lastStatus: Int?
        var lastText = ""
        let delivery = retrier.run(giveUpAfter: giveUpAfter, onRetry: { attempt, delay, why in
            metrics.retries.increment()
            logger.warn("\(why); retry \(attempt) in \(delay / 1_000_000)ms")
        }) {
            switch client.send(HTTPRequest(method: "POST", path: path, headers: headers, body: body)) {
            case .success(let r):
                metrics.request(status: r.status).increment()
                lastStatus = r.status
                lastText = String(decoding: r.body.prefix(1024), as: UTF8.self)
                return LokiRetryPolicy.classify(status: r.status, retryAfter: r.header("Retry-After"),
                                                why: "Loki push failed (status \(r.status))")
            case .failure(let error):
                metrics.request(status: nil).increment()
                lastStatus = nil
                lastText = error.message
                let why = "Loki push failed (\(error.message))"
                return error.isRetryable ? .retry(after: nil, why) : .permanent(why)
            }
        }
        switch delivery {
        case .delivered:
            metrics.sent.add(entries)
        case .dropped:
            metrics.dropped.add(entries)
            logger.error("Loki rejected \(entries) entries with status \(lastStatus ?? 0), dropped: \(lastText)")
            return .dropped("Loki answered \(lastStatus ?? 0): \(lastText)")
        case .gaveUp, .interrupted:
            break
        }
        return delivery
    }
}
