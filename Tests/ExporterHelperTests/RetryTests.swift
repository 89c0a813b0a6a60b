import CollectorCore
import ExporterHelper
import Synchronization
import Testing

/// The backoff, and the retry sender's decisions on an injected clock (its waits are the
/// `StopSignal`'s; the tests use short ones or a stopped signal).
@Suite struct RetryTests {
    final class ManualClock: MonotonicClock {
        let value = Atomic<UInt64>(0)
        func now() -> UInt64 { value.load(ordering: .relaxed) }
        func advance(_ ns: UInt64) { value.add(ns, ordering: .relaxed) }
    }

    @Test func backoffIsFullJitterUnderTheCap() {
        var r = RetrySettings()
        r.initialInterval = 100
        r.maxInterval = 1000
        let backoff = Backoff(r)
        #expect(backoff.delay(attempt: 0, random: { $0 }) == 100)
        #expect(backoff.delay(attempt: 3, random: { $0 }) == 800)
        #expect(backoff.delay(attempt: 4, random: { $0 }) == 1000)
        #expect(backoff.delay(attempt: 90, random: { $0 }) == 1000)
        #expect(backoff.delay(attempt: 5, random: { _ in 0 }) == 0)
        #expect(Backoff.parseRetryAfter(" 7") == 7_000_000_000)
        #expect(Backoff.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
    }

    /// Retries until delivered, honouring the server's delay; each attempt's clock moves 2 s.
    @Test func retriesUntilDeliveredAndGivesUpAfterTheElapsedTime() {
        var r = RetrySettings()
        r.initialInterval = 1_000
        r.maxInterval = 1_000
        let clock = ManualClock()
        let retrier = Retrier(settings: r, clock: clock, stop: StopSignal())
        var attempts = 0
        var delays: [UInt64] = []
        let delivered = retrier.run(giveUpAfter: nil, onRetry: { _, delay, _ in delays.append(delay) }) {
            attempts += 1
            return attempts < 3 ? .retry(after: attempts == 1 ? 5_000 : nil, "busy") : .delivered
        }
        #expect(delivered == .delivered && attempts == 3)
        #expect(delays.first == 5_000 && delays.count == 2 && delays[1] <= 1_000)
        let gaveUp = retrier.run(giveUpAfter: 5_000_000_000, onRetry: { _, _, _ in }) {
            clock.advance(2_000_000_000)
            return .retry(after: nil, "export failed (UNAVAILABLE)")
        }
        #expect(gaveUp == .gaveUp("export failed (UNAVAILABLE) for 6s; giving up"))
        #expect(retrier.run(giveUpAfter: nil, onRetry: { _, _, _ in }) { .permanent("bad") } == .dropped("bad"))
    }

    @Test func disabledRetriesGiveUpAtOnceAndAStopInterrupts() {
        var off = RetrySettings()
        off.enabled = false
        let clock = ManualClock()
        #expect(Retrier(settings: off, clock: clock, stop: StopSignal()).run(giveUpAfter: 60_000_000_000, onRetry: { _, _, _ in }) {
            .retry(after: nil, "x")
        } == .gaveUp("x; retries are disabled"))
        let stop = StopSignal()
        stop.stop()
        #expect(Retrier(settings: RetrySettings(), clock: clock, stop: stop).run(giveUpAfter: nil, onRetry: { _, _, _ in }) {
            .retry(after: nil, "x")
        } == .interrupted)
    }
}
