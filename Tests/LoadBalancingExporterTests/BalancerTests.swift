import CollectorCore
import CollectorTesting
import ExporterHelper
@testable import LoadBalancingExporter
import OTLPCodec
import Synchronization
import Testing

/// Routing and delivery with fake backends: every trace whole on the backend the ring names;
/// a backend that leaves while its share is in retry has that share re-routed by the new ring;
/// nothing a backend accepted is sent again.
@Suite struct BalancerTests {
    /// A backend that records what it accepted and answers from a script (then delivered).
    final class FakeBackend: Backend, @unchecked Sendable {
        // @unchecked Sendable: every field is behind the Mutex (`script` and `onSend` are set
        // before the backend is used and only read after).
        let name: String
        let accepted = Mutex<[[UInt8]]>([])
        let calls = Mutex(0)
        var script: [SendAttempt] = []
        var onSend: (() -> Void)?
        private let lock = Mutex(())

        init(_ name: String) { self.name = name }

        func send(_ payload: [UInt8], signal: Signal, completion: @escaping @Sendable (SendAttempt) -> Void) {
            completion(sendNow(payload))
        }

        func sendNow(_ payload: [UInt8]) -> SendAttempt {
            let answer: SendAttempt = lock.withLock { _ in
                calls.withLock { $0 += 1 }
                return script.isEmpty ? .delivered : script.removeFirst()
            }
            onSend?()
            if answer == .delivered { accepted.withLock { $0.append(payload) } }
            return answer
        }

        func close() {}

        /// (trace id, span name) of every span accepted.
        var spans: [String] {
            accepted.withLock { $0 }.flatMap { (try? OTLPScanner.spans($0).spans) ?? [] }.map { "\($0.traceID!.hex) \($0.name)" }
        }
    }

    static func batch(traces: Int) -> [UInt8] {
        OTLPBuild.traces([
            TestResource(service: "frontend", items: (0..<traces).map { t in
                TestSpan(traceID: traceID(t), spanID: spanID(t * 10 + 1), name: "root \(t)", start: 1, end: 9) }),
            TestResource(service: "db", items: (0..<traces).map { t in
                TestSpan(traceID: traceID(t), spanID: spanID(t * 10 + 2), parentSpanID: spanID(t * 10 + 1), name: "query \(t)", start: 2, end: 3) }),
        ])
    }

    final class Clock: MonotonicClock {
        func now() -> UInt64 { 0 }
    }

    static func balancer(_ backends: [String: FakeBackend]) -> Balancer {
        Balancer(metrics: .init(registry: MetricsRegistry(), resolver: "static"), clock: Clock(), logger: .discarding) { endpoint in
            backends[endpoint]!
        }
    }

    static var fastRetries: Retrier {
        var r = RetrySettings()
        r.initialInterval = 1_000
        r.maxInterval = 1_000
        return Retrier(settings: r, clock: Clock(), stop: StopSignal())
    }

    @Test func everyTraceGoesWholeToTheBackendTheRingNames() throws {
        let backends = Dictionary(uniqueKeysWithValues: ["gw-0:4317", "gw-1:4317", "gw-2:4317"].map { ($0, FakeBackend($0)) })
        let balancer = Self.balancer(backends)
        balancer.update(Array(backends.keys))
        let delivery = balancer.deliver(Self.batch(traces: 60), signal: .traces, key: .traceID, retrier: Self.fastRetries, giveUpAfter: nil)
        #expect(delivery == .delivered)
        let ring = HashRing(Array(backends.keys))
        var seen = 0
        for (endpoint, backend) in backends {
            #expect(backend.calls.withLock { $0 } == 1, "one request each")
            for span in backend.spans {
                let id = OTLPTraceID(hex: String(span.prefix(32)))!
                #expect(ring.endpoint(for: id.bytes) == endpoint)
                seen += 1
            }
        }
        #expect(seen == 120)
        #expect(backends.values.allSatisfy { !$0.spans.isEmpty }, "60 traces spread over all three")
    }

    /// gw-1 is down; while its share waits for a retry the resolver drops it: the share goes to
    /// gw-0 and gw-2 by the new ring, and what they already accepted is not sent again.
    @Test func aShareForABackendThatLeftIsReRoutedNotDroppedNorDoubled() throws {
        let backends = Dictionary(uniqueKeysWithValues: ["gw-0:4317", "gw-1:4317", "gw-2:4317"].map { ($0, FakeBackend($0)) })
        let balancer = Self.balancer(backends)
        balancer.update(Array(backends.keys))
        backends["gw-1:4317"]!.script = [.retry(after: nil, "UNAVAILABLE")]
        backends["gw-1:4317"]!.onSend = { balancer.update(["gw-0:4317", "gw-2:4317"]) }
        let delivery = balancer.deliver(Self.batch(traces: 60), signal: .traces, key: .traceID, retrier: Self.fastRetries, giveUpAfter: nil)
        #expect(delivery == .delivered)
        #expect(backends["gw-1:4317"]!.spans.isEmpty)
        let all = backends["gw-0:4317"]!.spans + backends["gw-2:4317"]!.spans
        #expect(all.count == 120 && Set(all).count == 120, "every span once: \(all.count) sent, \(Set(all).count) distinct")
        let ring = HashRing(["gw-0:4317", "gw-2:4317"])
        for (endpoint, backend) in backends where endpoint != "gw-1:4317" {
            for span in backend.spans {
                #expect(ring.endpoint(for: OTLPTraceID(hex: String(span.prefix(32)))!.bytes) == endpoint)
            }
            #expect(backend.calls.withLock { $0 } == 2, "the first round, then the re-routed share")
        }
    }

    /// A refusal drops only that backend's share; the others are delivered once.
    @Test func aRefusalDropsOnlyItsShare() throws {
        let backends = Dictionary(uniqueKeysWithValues: ["gw-0:4317", "gw-1:4317"].map { ($0, FakeBackend($0)) })
        let balancer = Self.balancer(backends)
        balancer.update(Array(backends.keys))
        backends["gw-0:4317"]!.script = [.permanent("INVALID_ARGUMENT")]
        let delivery = balancer.deliver(Self.batch(traces: 20), signal: .traces, key: .traceID, retrier: Self.fastRetries, giveUpAfter: nil)
        #expect(delivery == .dropped("gw-0:4317: INVALID_ARGUMENT"))
        #expect(backends["gw-0:4317"]!.calls.withLock { $0 } == 1 && backends["gw-1:4317"]!.calls.withLock { $0 } == 1)
        #expect(!backends["gw-1:4317"]!.spans.isEmpty)
    }

    @Test func serviceRoutingKeepsAResourceTogether() throws {
        let shares = try Router.split(.traces, Self.batch(traces: 5), key: .service, ring: HashRing(["a", "b", "c"]))
        let ring = HashRing(["a", "b", "c"])
        for share in shares {
            let scan = try OTLPScanner.spans(share.payload)
            for service in scan.services { #expect(ring.endpoint(for: HashRing.serviceKey(service)) == share.endpoint) }
        }
        #expect(shares.reduce(0) { $0 + $1.items } == 10)
    }
}
