import AttributesProcessor
import BatchProcessor
import BearerTokenAuth
import CollectorCore
import DebugExporter
import FileLogReceiver
import ForwardConnector
import HealthCheck
import LoadBalancingExporter
import LokiExporter
import OTLPExporter
import OTLPHTTPExporter
import MemoryLimiterProcessor
import NopExporter
import OTLPReceiver
import ProbabilisticSampler
import PrometheusExporter
import QueryAPI
import K8sAttributesProcessor
import ResourceProcessor
import ServiceGraphConnector
import SpanMetricsConnector
import StoreExporter
import TailSampling

/// Every component type the collector knows. A factory reads its component's settings and
/// builds it; adding a component is one line here.
public enum ComponentCatalog {
    public static let factories: [any ComponentFactory] = [
        OTLPFactory(), FileLogFactory(),
        BatchFactory(), MemoryLimiterFactory(), ProbabilisticSamplerFactory(), TailSamplingFactory(), ResourceFactory(), AttributesFactory(), K8sAttributesFactory(),
        DebugFactory(), StoreExporterFactory(), LokiFactory(), OTLPExporterFactory(), LoadBalancingFactory(), OTLPHTTPFactory(), NopFactory(), PrometheusFactory(),
        HealthCheckFactory(), QueryFactory(), BearerTokenAuthFactory(),
        ForwardFactory(), SpanMetricsFactory(), SpanMetricsFactory(type: "span_metrics"), ServiceGraphFactory(),
    ]

    public static var parser: ConfigParser { ConfigParser(factories: factories) }

    private static let byKind: [ComponentKind: [String: any ComponentFactory]] = ConfigParser(factories: factories).factories

    static func factory<F>(_ kind: ComponentKind, _ context: ComponentContext, as: F.Type) throws -> F {
        guard let f = byKind[kind]?[context.id.type] as? F else {
            throw ComponentError.permanent("no \(kind.rawValue) implementation for \(context.id)")
        }
        return f
    }

    static func makeReceiver(_ settings: any ComponentSettings, _ ctx: ComponentContext) throws -> any Receiver {
        try factory(.receiver, ctx, as: (any ReceiverFactory).self).makeReceiver(settings, context: ctx)
    }

    static func makeProcessor(_ settings: any ComponentSettings, _ ctx: ComponentContext) throws -> any Processor {
        try factory(.processor, ctx, as: (any ProcessorFactory).self).makeProcessor(settings, context: ctx)
    }

    static func makeExporter(_ settings: any ComponentSettings, _ ctx: ComponentContext) throws -> any Exporter {
        try factory(.exporter, ctx, as: (any ExporterFactory).self).makeExporter(settings, context: ctx)
    }

    static func makeConnector(_ settings: any ComponentSettings, from: Signal, to: Signal, _ ctx: ComponentContext,
                              next: any Consumer) throws -> any Exporter {
        try factory(.connector, ctx, as: (any ConnectorFactory).self).makeConnector(settings, from: from, to: to, context: ctx,
                                                                                      next: next)
    }

    static func makeExtension(_ settings: any ComponentSettings, _ ctx: ComponentContext) throws -> any Extension {
        try factory(.extension, ctx, as: (any ExtensionFactory).self).makeExtension(settings, context: ctx)
    }

    /// Applies new settings to a running receiver when it supports that; false means rebuild.
    static func reconfigure(_ receiver: any Receiver, _ settings: any ComponentSettings) throws -> Bool {
        guard let r = receiver as? any ReconfigurableReceiver else { return false }
        return try r.reconfigure(settings)
    }
}
