@testable import BackendResolver
import CollectorCore
import CollectorTesting
import Foundation
import Testing

@Suite struct K8sResolverConfigTests {
    private func parse(_ yaml: String, defaultPort: Int = 4317) throws -> (K8sResolverSettings, [String]) {
        let sink = ProblemSink()
        let reader = ConfigReader(try YAMLLoader.load(yaml, environment: [:]), sink: sink)
        let settings = K8sResolverSettings.read(reader, defaultPort: defaultPort)
        reader.finish()
        return (settings, sink.problems.map { "\($0.path): \($0.message)" })
    }

    @Test func upstreamKeys() throws {
        let (s, problems) = try parse("""
        service: collectord-gateway.observability
        ports: [4317, 14317, 4317]
        timeout: 3s
        return_hostnames: true
        """)
        #expect(problems.isEmpty, "\(problems)")
        #expect(s == K8sResolverSettings(service: "collectord-gateway", namespace: "observability", ports: [4317, 14317],
                                         timeoutNanos: 3_000_000_000, returnHostnames: true))
    }

    @Test func defaultsAndServiceForms() throws {
        let (bare, p1) = try parse("service: gw")
        #expect(p1.isEmpty && bare == K8sResolverSettings(service: "gw", namespace: nil, ports: [4317], timeoutNanos: 1_000_000_000))
        #expect(try parse("service: gw", defaultPort: 16686).0.ports == [16686])
        for text in ["gw.obs", "gw.obs.svc", "gw.obs.svc.cluster.local"] {
            let (s, problems) = try parse("service: \(text)")
            #expect(problems.isEmpty && s.service == "gw" && s.namespace == "obs", "\(text): \(problems)")
        }
    }

    @Test func problemsNameTheKey() throws {
        #expect(try parse("ports: [4317]").1 == ["service: is required (name.namespace of the Service whose EndpointSlices to watch)"])
        for bad in ["Gateway.obs", "gw..obs", "gw.obs.cluster.local", "-gw.obs", "gw_1.obs"] {
            #expect(try parse("service: \(bad)").1 == ["service: \"\(bad)\" is not name, name.namespace or name.namespace.svc.<cluster domain> (lowercase DNS labels)"])
        }
        let (s, problems) = try parse("""
        service: gw.obs
        ports: [0, http, 4318]
        timeout: 0s
        return_hostnames: maybe
        interval: 5s
        """)
        #expect(problems == ["ports[0]: expected a port number 1...65535, found \"0\"",
                             "ports[1]: expected a port number 1...65535, found \"http\"",
                             "timeout: must be greater than 0",
                             "return_hostnames: expected true or false, found \"maybe\"",
                             "interval: unknown key \"interval\""], "\(problems)")
        #expect(s.ports == [4318])
        #expect(try parse("service: gw.obs\nports: []").1 == ["ports: must list at least one port"])
        #expect(try parse("service: gw.obs\nports: 4317").1 == ["ports: expected a list of ports, found a scalar"])
    }

    /// Without a namespace in `service`: the service account's namespace file, else POD_NAMESPACE.
    @Test func namespaceDefaultsToThePods() throws {
        let dir = try TemporaryDirectory(prefix: "k8s-resolver-ns")
        let bare = K8sResolverSettings(service: "gw")
        #expect(throws: ResolverError("k8s resolver: service \"gw\" names no namespace and this pod's is unknown (no \(dir.path)/namespace, no POD_NAMESPACE): write service: gw.<namespace>")) {
            try bare.namespace(environment: [:], directory: dir.path)
        }
        #expect(try bare.namespace(environment: ["POD_NAMESPACE": "from-env"], directory: dir.path) == "from-env")
        try "observability\n".write(to: dir.file("namespace"), atomically: true, encoding: .utf8)
        #expect(try bare.namespace(environment: ["POD_NAMESPACE": "from-env"], directory: dir.path) == "observability")
        #expect(try K8sResolverSettings(service: "gw", namespace: "given").namespace(environment: [:], directory: dir.path) == "given")
    }
}
