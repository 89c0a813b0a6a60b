import CollectorCore
@testable import QueryAPI
import Testing

/// A receiver or exporter without settings, so that a config has a pipeline.
private struct StubFactory: ComponentFactory {
    struct Settings: ComponentSettings, Equatable {}
    var type: String
    var kind: ComponentKind
    var signals: Set<Signal> { [.traces] }
    func parseSettings(_ reader: ConfigReader) -> any ComponentSettings { Settings() }
}

@Suite struct QueryConfigTests {
    let parser = ConfigParser(factories: [
        QueryFactory(), StubFactory(type: "otlp", kind: .receiver), StubFactory(type: "store", kind: .exporter),
    ])

    private func yaml(_ extensionBody: String) -> String {
        """
        extensions:
          query:\(extensionBody)
        receivers:
          otlp:
        exporters:
          store:
        service:
          extensions: [query]
          pipelines:
            traces:
              receivers: [otlp]
              exporters: [store]
        """
    }

    @Test func defaults() throws {
        let config = try parser.parse(yaml: yaml(""), file: "c.yaml", environment: [:])
        let settings = config.component(.extension, ComponentID(type: "query"))?.settings as? QuerySettings
        #expect(settings == QuerySettings())
        #expect(settings?.endpoint == "127.0.0.1:16686")
    }

    @Test func endpointIsReadAndChecked() throws {
        let config = try parser.parse(yaml: yaml("\n    endpoint: 0.0.0.0:3200"), file: "c.yaml", environment: [:])
        #expect((config.component(.extension, ComponentID(type: "query"))?.settings as? QuerySettings)?.endpoint == "0.0.0.0:3200")
        do {
            _ = try parser.parse(yaml: yaml("\n    endpoint: localhost\n    port: 1"), file: "c.yaml", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.problems.map(\.description) == [
                "extensions.query.endpoint (line 3): invalid endpoint \"localhost\": missing port",
                "extensions.query.port (line 4): unknown key \"port\"",
            ])
        }
    }
}
