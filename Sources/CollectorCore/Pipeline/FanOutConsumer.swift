/// Hands each batch to several consumers (a receiver that feeds several pipelines of one signal).
///
/// Each consumer gets its own references on the batch's tokens. A consumer that refuses has its
/// reference released with the error, so the client hears about it (and retries) even though
/// other pipelines took the data. Throws only when every consumer refused, and then leaves the
/// caller's original reference to the caller, as `Consumer` requires.
public struct FanOutConsumer: Consumer {
    public let consumers: [any Consumer]

    public init(_ consumers: [any Consumer]) {
        self.consumers = consumers
    }

    public func consume(_ batch: TelemetryBatch) throws(ComponentError) {
        guard consumers.count > 1 else {
            guard let only = consumers.first else { throw .permanent("no pipeline for \(batch.signal)") }
            return try only.consume(batch)
        }
        batch.retainTokens(copies: consumers.count - 1)
        var refused = 0
        var lastError: ComponentError?
        for consumer in consumers {
            do {
                try consumer.consume(batch)
            } catch {
                refused += 1
                // Each refusal gives back the reference it was handed, except the last one
                // seen: that one is the caller's (on a throw) or released below.
                if let previous = lastError { batch.complete(previous) }
                if refused == consumers.count { throw error }
                lastError = error
            }
        }
        if let lastError { batch.complete(lastError) }
    }
}
