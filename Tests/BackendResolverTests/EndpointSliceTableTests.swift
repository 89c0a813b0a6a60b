@testable import BackendResolver
@testable import KubernetesClient
import Testing

/// The merge of a Service's slices into one backend list, without a server.
@Suite struct EndpointSliceTableTests {
    private typealias Endpoint = KubeEndpointSlice.Endpoint

    private func slice(_ name: String, type: String = "IPv4", service: String = "gw", namespace: String = "obs",
                       _ endpoints: [Endpoint]) -> KubeEndpointSlice {
        var meta = KubeObjectMeta()
        meta.name = name
        meta.namespace = namespace
        meta.labels = [KubeEndpointSlice.serviceNameLabel: service]
        return KubeEndpointSlice(metadata: meta, addressType: type, endpoints: endpoints)
    }

    private func ready(_ ip: String, hostname: String? = nil) -> Endpoint {
        Endpoint(addresses: [ip], conditions: .init(ready: true, serving: true, terminating: false), hostname: hostname)
    }

    private func table(ports: [Int] = [4317], hostnames: Bool = false) -> EndpointSliceTable {
        EndpointSliceTable(service: "gw", namespace: "obs", ports: ports, returnHostnames: hostnames)
    }

    @Test func readyEndpointsOfEverySliceEachWithEachPort() {
        var t = table(ports: [4317, 14317])
        t.apply(.synced([
            slice("gw-a", [ready("10.0.0.2"), ready("10.0.0.1"),
                           Endpoint(addresses: ["10.0.0.3"], conditions: .init(ready: false, serving: false, terminating: false)),
                           Endpoint(addresses: ["10.0.0.4"], conditions: .init(ready: false, serving: true, terminating: true)),
                           // publishNotReadyAddresses: ready stays true while terminating
                           Endpoint(addresses: ["10.0.0.5"], conditions: .init(ready: true, serving: true, terminating: true)),
                           Endpoint(addresses: ["10.0.0.6"], conditions: nil)]),
            slice("gw-b", [ready("10.0.1.1"), ready("10.0.0.1")]),  // one endpoint in two slices while it moves
        ]))
        #expect(t.endpoints == ["10.0.0.1:14317", "10.0.0.1:4317", "10.0.0.2:14317", "10.0.0.2:4317", "10.0.0.6:14317",
                                "10.0.0.6:4317", "10.0.1.1:14317", "10.0.1.1:4317"])
    }

    @Test func eventsReplaceOneSliceAndListsReplaceAll() {
        var t = table()
        t.apply(.synced([slice("gw-a", [ready("10.0.0.1")]), slice("gw-b", [ready("10.0.0.2")])]))
        t.apply(.upserted(slice("gw-a", [ready("10.0.0.1"), ready("10.0.0.3")])))
        #expect(t.endpoints == ["10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317"])
        t.apply(.deleted(slice("gw-b", [])))
        #expect(t.endpoints == ["10.0.0.1:4317", "10.0.0.3:4317"])
        t.apply(.upserted(slice("gw-a", service: "other", [ready("10.0.0.1")])))  // relabelled away
        t.apply(.upserted(slice("gw-c", namespace: "elsewhere", [ready("10.9.0.1")])))
        #expect(t.endpoints.isEmpty && t.slices.isEmpty)
        t.apply(.upserted(slice("gw-d", [ready("10.0.0.7")])))
        t.apply(.synced([slice("gw-e", [ready("10.0.0.8")])]))
        #expect(t.endpoints == ["10.0.0.8:4317"], "a list drops the slices it does not hold")
    }

    @Test func oneAddressFamilyAndBracketedIPv6() {
        var t = table()
        t.apply(.synced([slice("gw-v6", type: "IPv6", [ready("fd00::2"), ready("fd00::1")])]))
        #expect(t.endpoints == ["[fd00::1]:4317", "[fd00::2]:4317"])
        t.apply(.upserted(slice("gw-v4", [ready("10.0.0.1")])))
        #expect(t.endpoints == ["10.0.0.1:4317"], "dual stack: the IPv4 slices only")
        var fqdn = table()
        fqdn.apply(.synced([slice("gw-f", type: "FQDN", [ready("backend.example.com")])]))
        #expect(fqdn.endpoints == ["backend.example.com:4317"])
    }

    @Test func returnHostnamesUsesServiceAndNamespace() {
        var t = table(hostnames: true)
        t.apply(.synced([slice("gw-a", [ready("10.0.0.1", hostname: "gw-0"), ready("10.0.0.2", hostname: "gw-1"),
                                        ready("10.0.0.3")]),
                         slice("gw-v6", type: "IPv6", [ready("fd00::1", hostname: "gw-0")])]))
        #expect(t.endpoints == ["10.0.0.3:4317", "gw-0.gw.obs:4317", "gw-1.gw.obs:4317"])
    }
}
