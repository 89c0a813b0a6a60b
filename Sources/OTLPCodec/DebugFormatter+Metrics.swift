internal import CProtobufC
internal import OTLPProto

typealias CMetricsRequest = Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest
typealias CMetric = Opentelemetry__Proto__Metrics__V1__Metric

extension DebugFormatter {
    private static let temporality = OTLPSchema.shared.enumeration(named: "opentelemetry.proto.metrics.v1.AggregationTemporality")

    func formatMetrics(_ decoded: UnsafeRawPointer, into out: inout DebugText) {
        let request = decoded.assumingMemoryBound(to: CMetricsRequest.self).pointee
        var counts = OTLPCounts(resources: request.n_resource_metrics)
        forEach(request.n_resource_metrics, request.resource_metrics) { _, rm in
            counts.scopes += rm.pointee.n_scope_metrics
            forEach(rm.pointee.n_scope_metrics, rm.pointee.scope_metrics) { _, sm in
                forEach(sm.pointee.n_metrics, sm.pointee.metrics) { _, m in counts.items += Self.pointCount(m.pointee) }
            }
        }
        summary(.metrics, counts, into: &out)
        forEach(request.n_resource_metrics, request.resource_metrics) { r, rm in
            let resourceMetrics = rm.pointee
            if verbosity == .detailed {
                header(0, "ResourceMetrics #\(r)", into: &out)
                out.quotedLine(1, "schema_url", resourceMetrics.schema_url)
                resource(1, resourceMetrics.resource, into: &out)
            }
            forEach(resourceMetrics.n_scope_metrics, resourceMetrics.scope_metrics) { s, sm in
                let scopeMetrics = sm.pointee
                if verbosity == .detailed {
                    header(1, "ScopeMetrics #\(s)", into: &out)
                    out.quotedLine(2, "schema_url", scopeMetrics.schema_url)
                    scope(2, scopeMetrics.scope, into: &out)
                }
                forEach(scopeMetrics.n_metrics, scopeMetrics.metrics) { i, metric in
                    if verbosity == .detailed {
                        detailedMetric(i, metric.pointee, into: &out)
                    } else {
                        normalMetric(metric.pointee, resourceMetrics.resource, into: &out)
                    }
                }
            }
        }
    }

    /// The data points of `metric` (0 when it holds no data).
    static func pointCount(_ metric: CMetric) -> Int {
        switch metric.data_case {
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: metric.gauge?.pointee.n_data_points ?? 0
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: metric.sum?.pointee.n_data_points ?? 0
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM: metric.histogram?.pointee.n_data_points ?? 0
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
            metric.exponential_histogram?.pointee.n_data_points ?? 0
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY: metric.summary?.pointee.n_data_points ?? 0
        default: 0
        }
    }

    private static func typeName(_ metric: CMetric) -> String {
        switch metric.data_case {
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE: "Gauge"
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: "Sum"
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM: "Histogram"
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM: "ExponentialHistogram"
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY: "Summary"
        default: "Empty"
        }
    }

    /// `metric service=checkout name="http.server.duration" type=Histogram unit="ms" points=2`.
    private func normalMetric(_ metric: CMetric, _ resource: UnsafeMutablePointer<CResource>?, into out: inout DebugText) {
        out.text("metric ")
        service(resource, into: &out)
        out.text(" name=")
        out.quoted(metric.name)
        out.text(" type=")
        out.text(Self.typeName(metric))
        out.text(" unit=")
        out.quoted(metric.unit)
        out.text(" points=")
        out.text(String(Self.pointCount(metric)))
        out.newline()
    }

    private func detailedMetric(_ index: Int, _ metric: CMetric, into out: inout DebugText) {
        header(2, "Metric #\(index)", into: &out)
        out.quotedLine(3, "name", metric.name)
        out.quotedLine(3, "description", metric.description)
        out.quotedLine(3, "unit", metric.unit)
        out.line(3, "type", Self.typeName(metric))
        switch metric.data_case {
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
            guard let gauge = metric.gauge?.pointee else { return }
            forEach(gauge.n_data_points, gauge.data_points) { i, p in numberPoint(i, p.pointee, into: &out) }
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
            guard let sum = metric.sum?.pointee else { return }
            temporalityLine(Int32(bitPattern: sum.aggregation_temporality.rawValue), into: &out)
            out.line(3, "is_monotonic", sum.is_monotonic != 0 ? "true" : "false")
            forEach(sum.n_data_points, sum.data_points) { i, p in numberPoint(i, p.pointee, into: &out) }
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
            guard let histogram = metric.histogram?.pointee else { return }
            temporalityLine(Int32(bitPattern: histogram.aggregation_temporality.rawValue), into: &out)
            forEach(histogram.n_data_points, histogram.data_points) { i, p in histogramPoint(i, p.pointee, into: &out) }
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
            guard let histogram = metric.exponential_histogram?.pointee else { return }
            temporalityLine(Int32(bitPattern: histogram.aggregation_temporality.rawValue), into: &out)
            forEach(histogram.n_data_points, histogram.data_points) { i, p in
                let point = p.pointee
                pointHeader(i, point.n_attributes, point.attributes, point.start_time_unix_nano, point.time_unix_nano, into: &out)
                out.line(4, "count", String(point.count))
                out.line(4, "scale", String(point.scale))
                out.line(4, "zero_count", String(point.zero_count))
            }
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
            guard let summary = metric.summary?.pointee else { return }
            forEach(summary.n_data_points, summary.data_points) { i, p in
                let point = p.pointee
                pointHeader(i, point.n_attributes, point.attributes, point.start_time_unix_nano, point.time_unix_nano, into: &out)
                out.line(4, "count", String(point.count))
                out.label(4, "sum")
                out.double(point.sum)
                out.newline()
                forEach(point.n_quantile_values, point.quantile_values) { _, q in
                    out.indent(4)
                    out.text("-> quantile ")
                    out.double(q.pointee.quantile)
                    out.text(": ")
                    out.double(q.pointee.value)
                    out.newline()
                }
            }
        default:
            break
        }
    }

    private func temporalityLine(_ value: Int32, into out: inout DebugText) {
        out.label(3, "aggregation_temporality")
        out.enumName(value, Self.temporality)
        out.newline()
    }

    private func pointHeader(_ index: Int, _ n: Int, _ attributes: UnsafeMutablePointer<UnsafeMutablePointer<CKeyValue>?>?,
                             _ start: UInt64, _ time: UInt64, into out: inout DebugText) {
        header(3, "DataPoint #\(index)", into: &out)
        if n > 0 {
            section(4, "attributes", into: &out)
            out.attributes(5, n, attributes)
        }
        out.timestampLine(4, "start_time_unix_nano", start)
        out.timestampLine(4, "time_unix_nano", time)
    }

    private func numberPoint(_ index: Int, _ point: Opentelemetry__Proto__Metrics__V1__NumberDataPoint, into out: inout DebugText) {
        pointHeader(index, point.n_attributes, point.attributes, point.start_time_unix_nano, point.time_unix_nano, into: &out)
        out.label(4, "value")
        switch point.value_case {
        case OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE: out.double(point.as_double)
        case OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT: out.text(String(point.as_int))
        default: out.text("Empty()")
        }
        out.newline()
    }

    private func histogramPoint(_ index: Int, _ point: Opentelemetry__Proto__Metrics__V1__HistogramDataPoint, into out: inout DebugText) {
        pointHeader(index, point.n_attributes, point.attributes, point.start_time_unix_nano, point.time_unix_nano, into: &out)
        out.line(4, "count", String(point.count))
        if point._sum_case == OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM {
            out.label(4, "sum")
            out.double(point.sum)
            out.newline()
        }
        for i in 0..<point.n_bucket_counts {
            out.indent(4)
            out.text("-> bucket ")
            if i < point.n_explicit_bounds {
                out.text("le ")
                out.double(point.explicit_bounds[i])
            } else {
                out.text("le +Inf")
            }
            out.text(": ")
            out.text(String(point.bucket_counts[i]))
            out.newline()
        }
    }
}
