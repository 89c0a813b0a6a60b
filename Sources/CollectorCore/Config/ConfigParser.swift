import TLSSettings

/// Reads the OpenTelemetry Collector's YAML shape into a `CollectorConfig`, reporting every
/// problem at once with its YAML path and line: unknown sections, component types and keys;
/// pipelines naming undefined components or components that do not support their signal;
/// connectors that join no pipelines of a supported signal pair, or whose pipelines form a cycle.
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
        var connections: [PipelineConnection] = []
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
                let nodes: [ConfigNode]
                (pipelines, nodes) = parsePipelines(section, components: components, sink: sink)
                connections = connect(pipelines, nodes: nodes, components: components, sink: sink)
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
        config.connections = connections
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

    /// The ids listed under `key`, each defined as one of `kinds` (a pipeline's receivers and
    /// exporters may be connectors).
    private func ids(_ reader: ConfigReader, _ key: String, kind: ComponentKind, or other: ComponentKind? = nil,
                     defined: [ComponentKind: [CollectorConfig.Component]], sink: ProblemSink) -> [ComponentID] {
        guard let node = reader.raw(key) else { return [] }
        guard case .sequence(let items) = node.value else {
            sink.add(node, "expected a list of \(kind.section), found \(node.kindName)")
            return []
        }
        func isDefined(_ id: ComponentID, _ k: ComponentKind) -> Bool { (defined[k] ?? []).contains { $0.id == id } }
        var result: [ComponentID] = []
        for item in items {
            guard let text = item.scalar, let id = ComponentID(parsing: text) else {
                sink.add(item, "expected a component id")
                continue
            }
            if let other, isDefined(id, kind), isDefined(id, other) {
                sink.add(item, "\"\(id)\" is both a \(kind.rawValue) and a \(other.rawValue); rename one of them")
                continue
            }
            if !isDefined(id, kind) && !(other.map { isDefined(id, $0) } ?? false) {
                let also = other.map { " or \($0.section)" } ?? ""
                sink.add(item, "references \(kind.rawValue) \"\(id)\" which is not configured in \(kind.section)\(also)")
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

    /// The pipelines, and the node of each (for problems found later).
    private func parsePipelines(_ section: ConfigReader, components: [ComponentKind: [CollectorConfig.Component]],
                                sink: ProblemSink) -> ([PipelineConfig], [ConfigNode]) {
        var result: [PipelineConfig] = []
        var nodes: [ConfigNode] = []
        for (key, node) in section.node.mapping ?? [] {
            let id = ComponentID(parsing: key)
            guard let id, let signal = Signal(rawValue: id.type) else {
                _ = section.raw(key)
                sink.add(node, "unknown pipeline type \"\(key)\"; expected traces, metrics or logs")
                continue
            }
            guard let reader = section.section(key) else { continue }
            let receivers = ids(reader, "receivers", kind: .receiver, or: .connector, defined: components, sink: sink)
            let processors = ids(reader, "processors", kind: .processor, defined: components, sink: sink)
            let exporters = ids(reader, "exporters", kind: .exporter, or: .connector, defined: components, sink: sink)
            let connectors = Set((components[.connector] ?? []).map(\.id))
            if reader.node["receivers"] == nil { sink.add(node, "pipeline must have at least one receiver") }
            if reader.node["exporters"] == nil { sink.add(node, "pipeline must have at least one exporter") }
            for (kind, list) in [(ComponentKind.receiver, receivers), (.processor, processors), (.exporter, exporters)] {
                for cid in list where !connectors.contains(cid) && !(factories[kind]?[cid.type]?.signals.contains(signal) ?? true) {
                    sink.add(reader.node[kind.section] ?? node, "\(kind.rawValue) \"\(cid)\" does not support \(signal)")
                }
            }
            result.append(PipelineConfig(name: key, signal: signal, receivers: receivers,
                                         processors: processors, exporters: exporters))
            nodes.append(node)
        }
        if result.isEmpty && sink.problems.isEmpty {
            sink.add(section.node, "at least one pipeline is required")
        }
        return (result, nodes)
    }

    /// The connector instances the pipelines use, as the OTel Collector checks them: every
    /// pipeline a connector exports from needs a pipeline of a signal it supports to receive
    /// into, and the other way round; and no pipeline may feed itself through connectors.
    private func connect(_ pipelines: [PipelineConfig], nodes: [ConfigNode],
                         components: [ComponentKind: [CollectorConfig.Component]], sink: ProblemSink) -> [PipelineConnection] {
        var connections: [PipelineConnection] = []
        for component in components[.connector] ?? [] {
            let id = component.id
            guard let factory = factories[.connector]?[id.type] as? any ConnectorFactory else { continue }
            let upstream = pipelines.indices.filter { pipelines[$0].exporters.contains(id) }
            let downstream = pipelines.indices.filter { pipelines[$0].receivers.contains(id) }
            for from in Signal.allCases {
                let ups = upstream.filter { pipelines[$0].signal == from }
                guard !ups.isEmpty else { continue }
                for to in Signal.allCases where factory.supports(from: from, to: to) {
                    let downs = downstream.filter { pipelines[$0].signal == to }
                    guard !downs.isEmpty else { continue }
                    connections.append(PipelineConnection(connector: id, from: from, to: to, upstream: ups, downstream: downs))
                }
            }
            for u in upstream where !downstream.contains(where: { factory.supports(from: pipelines[u].signal, to: pipelines[$0].signal) }) {
                sink.add(nodes[u], "connector \"\(id)\" used as exporter in \(pipelines[u].signal) pipeline \(pipelines[u].name) but not used in any supported receiver pipeline")
            }
            for d in downstream where !upstream.contains(where: { factory.supports(from: pipelines[$0].signal, to: pipelines[d].signal) }) {
                sink.add(nodes[d], "connector \"\(id)\" used as receiver in \(pipelines[d].signal) pipeline \(pipelines[d].name) but not used in any supported exporter pipeline")
            }
        }
        if let cycle = Self.cycle(pipelines.count, connections) {
            let path = cycle.map { step in "\(pipelines[step.pipeline].name) -> connector \(step.connector)" }.joined(separator: " -> ")
            sink.add(nodes[cycle[0].pipeline], "connectors form a cycle: \(path) -> \(pipelines[cycle[0].pipeline].name)")
        }
        return connections
    }

    /// A cycle of pipelines feeding each other through connectors (each step: a pipeline and
    /// the connector it feeds the next one through), or nil.
    static func cycle(_ count: Int, _ connections: [PipelineConnection]) -> [(pipeline: Int, connector: ComponentID)]? {
        var edges = [[(to: Int, connector: ComponentID)]](repeating: [], count: count)
        for c in connections {
            for u in c.upstream {
                for d in c.downstream { edges[u].append((d, c.connector)) }
            }
        }
        // 0: not seen, 1: on the current path, 2: done.
        var state = [Int](repeating: 0, count: count)
        var path: [(pipeline: Int, connector: ComponentID)] = []
        func visit(_ p: Int) -> [(pipeline: Int, connector: ComponentID)]? {
            state[p] = 1
            for edge in edges[p] {
                path.append((p, edge.connector))
                if state[edge.to] == 1 {
                    let start = path.firstIndex { $0.pipeline == edge.to }!
                    return Array(path[start...])
                }
                if state[edge.to] == 0, let found = visit(edge.to) { return found }
                path.removeLast()
            }
            state[p] = 2
            return nil
        }
        for p in 0..<count where state[p] == 0 {
            if let found = visit(p) { return found }
        }
        return nil
    }
}
