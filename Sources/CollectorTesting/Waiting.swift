/// Polls `condition` until it returns true; throws (with `message`) after `timeout`.
///
/// ```swift
/// try await waitUntil("spans counted", timeout: .seconds(5)) {
///     let m = try await SimpleHTTP.metrics(port: metricsPort)
///     return m.sum("otelcol_receiver_accepted_spans_total") == 4
/// }
/// ```
public func waitUntil(
    _ message: @autoclosure () -> String = "condition",
    timeout: Duration = .seconds(10),
    interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while true {
        do {
            if try await condition() { return }
            lastError = nil
        } catch {
            lastError = error
        }
        if ContinuousClock.now >= deadline {
            let reason = lastError.map { " (last error: \($0))" } ?? ""
            throw TestProcessError("timed out after \(timeout) waiting for \(message())\(reason)")
        }
        try await Task.sleep(for: interval)
    }
}
