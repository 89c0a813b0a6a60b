#if canImport(Glibc)
import Glibc
#endif
import CollectorCore
import MemoryLimiterProcessor
import Transport
import FoundationEssentials

/// The process's own resource use, sampled at scrape time: RSS, CPU seconds, uptime.
enum ProcessMetrics {
    static func register(_ metrics: MetricsRegistry) {
        let start = Date()
        metrics.callback("otelcol_process_memory_rss_bytes", help: "Total physical memory (resident set size) [By]") {
            Double(ProcessMemory.residentBytes())
        }
        metrics.callback("otelcol_process_cpu_seconds_total", kind: .counter, help: "Total CPU user and system time in seconds [s]") {
            cpuSeconds()
        }
        metrics.callback("otelcol_process_uptime_seconds_total", kind: .counter, help: "Uptime of the process [s]") {
            Date().timeIntervalSince(start)
        }
        metrics.callback("collectord_server_connections", help: "Client connections open on every listener") {
            Double(ConnectionBudget.openConnections)
        }
        metrics.callback("collectord_server_connections_limit",
                         help: "Client connections allowed at once (the descriptor limit minus a reserve)") {
            Double(ConnectionBudget.limit)
        }
        metrics.callback("collectord_server_idle_timeouts_total", kind: .counter,
                         help: "Connections closed after the idle timeout with nothing in flight") {
            Double(TransportStats.idleTimeouts)
        }
        metrics.callback("collectord_server_request_read_timeouts_total", kind: .counter,
                         help: "Connections closed because a request did not arrive within the request-read timeout (slowloris)") {
            Double(TransportStats.requestReadTimeouts)
        }
        metrics.callback("collectord_server_tls_handshake_failures_total", kind: .counter,
                         help: "TLS handshakes that failed (a TLS error, or not complete within the header-read timeout)") {
            Double(TransportStats.tlsHandshakeFailures)
        }
        metrics.callback("collectord_server_tls_reload_failures_total", kind: .counter,
                         help: "Certificate reloads that failed (the previous certificates stayed in use)") {
            Double(TransportStats.tlsReloadFailures)
        }
        metrics.callback("collectord_server_connections_refused_total", kind: .counter,
                         help: "Connections closed at once because the connection limit was reached") {
            Double(ConnectionBudget.refused)
        }
        metrics.callback("collectord_server_request_bytes",
                         help: "Bytes held by requests still arriving and by requests being handed to pipelines") {
            Double(RequestBudget.shared.heldBytes)
        }
        metrics.callback("collectord_server_request_bytes_limit",
                         help: "The bound on collectord_server_request_bytes (service.limits.request_memory_limit_mib)") {
            let limit = RequestBudget.shared.limit
            return limit == .max ? 0 : Double(limit)
        }
        metrics.callback("collectord_server_requests_refused_busy_total", kind: .counter,
                         help: "Requests refused with a retryable status (503 / UNAVAILABLE) because the request bytes bound was reached") {
            Double(RequestBudget.shared.refused)
        }
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }
}
