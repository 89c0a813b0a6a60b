import TLSSettings

/// Reads the OpenTelemetry Collector's YAML shape into a `CollectorConfig`, reporting every
/// problem at once with its YAML path and line: unknown sections, component types and keys;
/// pipelines naming undefined components or components that do not support their signal.
public struct ConfigParser: Sendable {
    public let factories: [ComponentKind: [String: any ComponentFactory]]

    public init(factories: [any ComponentFactory]) {
        var byKind: [ComponentKind: [String: any ComponentFactory]] = [:]
        for f in factories { byKind[f.kind, default: [:]][f.type] = f }
        self.factories = byKind
    }

    public func parse(yaml: String, file: String, environment: [String: String]) throws(ConfigError) -> CollectorConfig {
        let root: ConfigNode
        var warnings: [ConfigProblem] = []
        do {
            root = try YAMLLoader.load(yaml, environment: environment, warnings: &warnings)
        } catch {
            throw ConfigError(file: file, problems: error.problems)
        }
        let sink = ProblemSink()
        let top = ConfigReader(root, sink: sink)
        var components: [ComponentKind: [CollectorConfig.Component]] = [:]
        for kind in ComponentKind.allCases {
            components[kind] = parseComponents(kind, top.section(kind.section), sink: sink)
        }
        var pipelines: [PipelineConfig] = []
        var serviceExtensions: [ComponentID] = []
        var metricsAddress = "127.0.0.1:8888"
        var metricsTLS: TLSServerSettings?
        var logLevel = LogLevel.info
        var limits = ServiceLimits()
        if let service = top.section("service") {
            if let section = service.section("limits") {
                if section.node["max_connections"] != nil {
                    limits.maxConnections = section.int("max_connections", default: 0, range: 1...10_000_000)
                }
                limits.requestMemoryLimitMiB = section.int("request_memory_limit_mib", default: limits.requestMemoryLimitMiB,
                                                           range: 1...1_048_576)
                limits.pipelineQueueSize = section.int("pipeline_queue_size", default: limits.pipelineQueueSize,
                                                       range: 2...1_048_576)
            }
            serviceExtensions = ids(service, "extensions", kind: .extension, defined: components, sink: sink)
            if let telemetry = service.section("telemetry") {
                if let metrics = telemetry.section("metrics") {
                    metricsAddress = metrics.string("address", default: metricsAddress)
                    metricsTLS = metrics.tlsServerSettings()
                    _ = metrics.choice("level", ["none", "basic", "normal", "detailed"], default: "normal")
                }
                if let logs = telemetry.section("logs") {
                    let level = logs.choice("level", ["debug", "info", "warn", "error"], default: "info")
                    logLevel = ["debug": .debug, "warn": .warn, "error": .error][level] ?? .info
                }
            }
            if let section = service.section("pipelines") {
                pipelines = parsePipelines(section, components: components, sink: sink)
            } else {
                sink.add(path: "service.pipelines", line: service.node.line, "at least one pipeline is required")
            }
        } else {
            sink.add(path: "service", line: 0, "missing section (service.pipelines is required)")
        }
        top.finish()
        if !sink.problems.isEmpty {
            throw ConfigError(file: file, problems: sink.problems.sorted { $0.line < $1.line })
        }
        var config = CollectorConfig(components: components, pipelines: pipelines, serviceExtensions: serviceExtensions,
                                     metricsAddress: metricsAddress, logLevel: logLevel)
        config.warnings = warnings
        config.metricsTLS = metricsTLS
        config.limits = limits
        return config
    }

    private func parseComponents(_ kind: ComponentKind, _ section: ConfigReader?, sink: ProblemSink) -> [CollectorConfig.Component] {
        guard let section, let entries = section.node.mapping else { return [] }
        var result: [CollectorConfig.Component] = []
        for (key, node) in entries {
            _ = section.raw(key)
            guard let id = ComponentID(parsing: key) else {
                sink.add(node, "invalid component id \"\(key)\" (expected type or type/name)")
                continue
            }
            guard let factory = factories[kind]?[id.type] else {
                let known = (factories[kind]?.keys.sorted() ?? []).joined(separator: ", ")
                sink.add(node, "unknown \(kind.rawValue) type \"\(id.type)\" (known: \(known))")
                continue
            }
            let empty = ConfigNode(.mapping([]), path: node.path, line: node.line)
            let reader = ConfigReader(node.isNull ? empty : node, sink: sink)
            let settings = factory.parseSettings(reader)
            reader.finish()
            result.append(.init(id: id, kind: kind, settings: settings))
        }
        return result
    }

    private func ids(_ reader: ConfigReader, _ key: String, kind: ComponentKind,
                     defined: [ComponentKind: [CollectorConfig.Component]], sink: ProblemSink) -> [ComponentID] {
        guard let node = reader.raw(key) else { return [] }
        guard case .sequence(let items) = node.value else {
            sink.add(node, "expected a list of \(kind.section), found \(node.kindName)")
            return []
        }
        var result: [ComponentID] = []
        for item in items {
            guard let text = item.scalar, let id = ComponentID(parsing: text) else {
                sink.add(item, "expected a component id")
                continue
            }
            if !(defined[kind] ?? []).contains(where: { $0.id == id }) {
                sink.add(item, "references \(kind.rawValue) \"\(id)\" which is not configured in \(kind.section)")
                continue
            }
            if result.contains(id) {
                sink.add(item, "\(kind.rawValue) \"\(id)\" is listed twice")
                continue
            }
            result.append(id)
        }
        return result
    }

    private func parsePipelines(_ section: ConfigReader, components: [ComponentKind: [CollectorConfig.Component]],
                                sink: ProblemSink) -> [PipelineConfig] {
        var result: [PipelineConfig] = []
        for (key, node) in section.node.mapping ?? [] {
            let id = ComponentID(parsing: key)
            guard let id, let signal = Signal(rawValue: id.type) else {
                _ = section.raw(key)
                let hint = id?.type == "metrics" ? " (metrics pipelines are not supported yet)" : ""
                sink.add(node, "unknown pipeline type \"\(key)\"; expected traces or logs\(hint)")
                continue
            }
            guard let reader = section.section(key) else { continue }
            let receivers = ids(reader, "receivers", kind: .receiver, defined: components, sink: sink)
            let processors = ids(reader, "processors", kind: .processor, defined: components, sink: sink)
            let exporters = ids(reader, "exporters", kind: .exporter, defined: components, sink: sink)
            if reader.node["receivers"] == nil { sink.add(node, "pipeline must have at least one receiver") }
            if reader.node["exporters"] == nil { sink.add(node, "pipeline must have at least one exporter") }
            for (kind, list) in [(ComponentKind.receiver, receivers), (.processor, processors), (.exporter, exporters)] {
                for cid in list where !(factories[kind]?[cid.type]?.signals.contains(signal) ?? true) {
                    sink.add(reader.node[kind.section] ?? node, "\(kind.rawValue) \"\(cid)\" does not support \(signal)")
                }
            }
            result.append(PipelineConfig(name: key, signal: signal, receivers: receivers,
                                         processors: processors, exporters: exporters))
        }
        if result.isEmpty && sink.problems.isEmpty {
            sink.add(section.node, "at least one pipeline is required")
        }
        return result
    }
}
