import CollectorCore

/// Settings of a stub component: nothing.
public struct StubSettings: ComponentSettings, Equatable {
    public init() {}
}

/// A factory that only gives a component type a name, so that a config parsed in a test can
/// wire the component under test between receivers and exporters.
public struct StubComponentFactory: ComponentFactory {
    public var type: String
    public var kind: ComponentKind
    public var signals: Set<Signal> { Set(Signal.allCases) }

    public init(type: String, kind: ComponentKind) {
        self.type = type
        self.kind = kind
    }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings { StubSettings() }
}
