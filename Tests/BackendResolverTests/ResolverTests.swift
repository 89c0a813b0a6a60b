import BackendResolver
import CollectorCore
import Synchronization
import Testing

@Suite struct ResolverTests {
    @Test func staticEndpointsAreSortedOnceAsWritten() throws {
        let resolver = StaticResolver(["gw-1", "gw-0:4317", "10.0.0.1:5555", "gw-1", "fd00::1", "[fd00::2]"])
        #expect(try resolver.resolve().get() == ["10.0.0.1:5555", "[fd00::2]", "fd00::1", "gw-0:4317", "gw-1"])
        #expect(["gw-1", "gw-0:4317", "[fd00::2]", "fd00::1", "[fd00::3]:99"].map { endpointWithPort($0, 4317) }
                == ["gw-1:4317", "gw-0:4317", "[fd00::2]:4317", "[fd00::1]:4317", "[fd00::3]:99"])
    }

    @Test func dnsGivesEveryAddressWithThePort() throws {
        let found = try DNSResolver(hostname: "localhost", port: 4317).resolve().get()
        #expect(found.contains("127.0.0.1:4317"), "\(found)")
        #expect(try DNSResolver(hostname: "localhost", port: nil).resolve().get().contains("127.0.0.1"), "no port unless configured")
        #expect(found == found.sorted())
        guard case .failure(let error) = DNSResolver(hostname: "no-such-host.invalid", port: 1).resolve() else {
            Issue.record("an unknown name resolved")
            return
        }
        #expect(error.description.hasPrefix("resolving no-such-host.invalid: "))
    }

    /// Re-resolved only once the interval passed; a failure keeps the last good set.
    @Test func resolvedEndpointsCacheAndKeepTheLastGoodSet() {
        final class Scripted: Resolver, @unchecked Sendable {
            // @unchecked Sendable: the test calls it from one thread.
            var answers: [Result<[String], ResolverError>]
            var calls = 0
            init(_ answers: [Result<[String], ResolverError>]) { self.answers = answers }
            var kind: String { "scripted" }
            func resolve() -> Result<[String], ResolverError> {
                calls += 1
                return answers.removeFirst()
            }
        }
        final class Clock: MonotonicClock {
            let value = Atomic<UInt64>(0)
            func now() -> UInt64 { value.load(ordering: .relaxed) }
        }
        let scripted = Scripted([.success(["a:1"]), .failure(ResolverError("down")), .success(["a:1", "b:1"])])
        let clock = Clock()
        let failures = Mutex<[String]>([])
        let set = ResolvedEndpoints(scripted, interval: 10, clock: clock) { error in failures.withLock { $0.append(error.description) } }
        #expect(set.current() == ["a:1"])
        #expect(set.current() == ["a:1"] && scripted.calls == 1, "cached within the interval")
        clock.value.store(10, ordering: .relaxed)
        #expect(set.current() == ["a:1"], "a failure keeps the last good set")
        #expect(failures.withLock { $0 } == ["down"])
        clock.value.store(20, ordering: .relaxed)
        #expect(set.current() == ["a:1", "b:1"] && scripted.calls == 3)
    }
}
