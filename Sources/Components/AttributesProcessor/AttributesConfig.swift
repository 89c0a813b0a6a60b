import AttributeActions
import CollectorCore

/// Settings of the `attributes` processor: `actions`, and the optional `include` / `exclude`
/// that choose the spans or log records they apply to.
public struct AttributesSettings: ComponentSettings, Equatable {
    public var actions: [AttributeAction] = []
    public var include: MatchProperties?
    public var exclude: MatchProperties?
    public init() {}
}

public struct AttributesFactory: ProcessorFactory {
    public init() {}
    public var type: String { "attributes" }
    public var kind: ComponentKind { .processor }
    public var signals: Set<Signal> { [.traces, .logs] }

    public func parseSettings(_ reader: ConfigReader) -> any ComponentSettings {
        var s = AttributesSettings()
        if reader.node["actions"] == nil { reader.problem("actions", "missing actions: at least one action is required") }
        s.actions = ActionConfig.actions(reader.sectionList("actions"))
        s.include = reader.section("include").map { MatchProperties.read($0) }
        s.exclude = reader.section("exclude").map { MatchProperties.read($0) }
        return s
    }

    public func makeProcessor(_ settings: any ComponentSettings, context: ComponentContext) throws -> any Processor {
        AttributesProcessor(settings: try context.settings(settings, as: AttributesSettings.self), logger: context.logger)
    }
}
