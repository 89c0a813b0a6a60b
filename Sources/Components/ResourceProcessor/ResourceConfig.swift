import AttributeActions
import CollectorCore

/// Settings of the `resource` processor: the OTel Collector's `attributes` list of actions.
public struct ResourceSettings: ComponentSettings, Equatable {
    public var actions: [AttributeAction] = []
    public init() {}
}

public struct ResourceFactory: ProcessorFactory {
    public init() {}
    public var type: String { "resource" }
    public var kind: ComponentKind { .processor }
    public var signals: Set<Signal> { [.traces, .logs, .metrics] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = ResourceSettings()
        if reader.node["attributes"] == nil { reader.problem("attributes", "missing attributes: at least one action is required") }
        s.actions = ActionConfig.actions(reader.sectionList("attributes"))
        return s
    }

    public func makeProcessor(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Processor {
        ResourceProcessor(settings: try context.settings(settings, as: ResourceSettings.self), logger: context.logger)
    }
}
