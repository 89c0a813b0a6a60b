import CollectorCore
import HTTPClient
import OTLPCodec

/// Sends queued OTLP logs to Loki: converts them (protobuf: `LokiTranscoder`, straight from
/// the OTLP wire format; JSON: decoded records -> `LokiStreamBuilder` -> `LokiJSONEncoder`),
/// posts, and retries per `LokiRetryPolicy`. Stateless apart from metrics; called from one
/// thread at a time (the sender loop, or `export` without a disk queue).
struct LokiSender: Sendable {
    enum Delivery: Sendable, Equatable {
        case delivered
        /// Permanently rejected (or undecodable); the entries were dropped and counted.
        case dropped(String)
        /// Still failing when `giveUpAfter` ran out (only without a disk queue).
        case gaveUp(String)
        /// `stop` interrupted a retry wait: the data is not delivered.
        case interrupted
    }

    let settings: LokiSettings
    let client: HTTPClient
    /// The push path on the client's endpoint.
    let path: String
    let builder: LokiStreamBuilder
    let transcoder: LokiTranscoder
    let policy: LokiRetryPolicy
    let metrics: LokiMetrics
    let logger: Logger
    let stop: LokiStopSignal
    let clock: any MonotonicClock

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
        let start = clock.now()
        var attempt = 0
        while true {
            // What the push came to: the status (nil: no answer), what to do, and why.
            let status: Int?, outcome: LokiRetryPolicy.Outcome, why: String, text: String
            switch client.send(HTTPRequest(method: "POST", path: path, headers: headers, body: body)) {
            case .success(let r):
                status = r.status
                outcome = policy.classify(status: r.status, retryAfter: r.header("Retry-After"))
                why = "status \(r.status)"
                text = String(decoding: r.body.prefix(1024), as: UTF8.self)
            case .failure(let error):
                status = nil
                outcome = error.isRetryable ? .retry(after: nil) : .permanent
                why = error.message
                text = error.message
            }
            metrics.request(status: status).increment()
            switch outcome {
            case .delivered:
                metrics.sent.add(entries)
                return .delivered
            case .permanent:
                metrics.dropped.add(entries)
                logger.error("Loki rejected \(entries) entries with status \(status ?? 0), dropped: \(text)")
                return .dropped("Loki answered \(status ?? 0): \(text)")
            case .retry(let after):
                let delay = after ?? policy.backoff(attempt: attempt)
                attempt += 1
                if !settings.retry.enabled && giveUpAfter != nil {
                    return .gaveUp("Loki push failed (\(why)); retries are disabled")
                }
                if let limit = giveUpAfter, limit > 0, clock.now() - start + delay > limit {
                    return .gaveUp("Loki push failed (\(why)) for \((clock.now() - start) / 1_000_000_000)s; giving up")
                }
                metrics.retries.increment()
                logger.warn("Loki push failed (\(why)); retry \(attempt) in \(delay / 1_000_000)ms")
                if !stop.sleep(delay) { return .interrupted }
            }
        }
    }
}
