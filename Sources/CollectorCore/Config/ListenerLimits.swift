/// The limits one listener applies to its clients, as read from its config: confighttp's keys
/// for HTTP listeners (`idle_timeout`, `read_header_timeout`, `read_timeout`), configgrpc's
/// for gRPC (`max_concurrent_streams`, `keepalive.server_parameters.max_connection_idle`).
/// Components turn these into the transport's `HTTPServerLimits` field by field.
public struct ListenerLimits: Sendable, Equatable {
    /// A connection with nothing in flight and nothing received for this long is closed.
    public var idleTimeoutNanos: UInt64 = 60_000_000_000
    /// A request head must arrive within this long of its first byte.
    public var readHeaderTimeoutNanos: UInt64 = 60_000_000_000
    /// A whole request (head and body) must arrive within this long of its first byte.
    public var readTimeoutNanos: UInt64 = 60_000_000_000
    /// HTTP/2 streams one connection may have open at once.
    public var maxConcurrentStreams = 100

    public init() {}
}

extension ConfigReader {
    /// confighttp's server timeouts: `idle_timeout`, `read_header_timeout`, `read_timeout`
    /// (each > 0; upstream's 0 "no timeout" is refused, since every listener is bounded).
    public func httpListenerLimits() -> ListenerLimits {
        var limits = ListenerLimits()
        limits.idleTimeoutNanos = positiveDuration("idle_timeout", default: limits.idleTimeoutNanos)
        limits.readHeaderTimeoutNanos = positiveDuration("read_header_timeout", default: limits.readHeaderTimeoutNanos)
        limits.readTimeoutNanos = positiveDuration("read_timeout", default: limits.readTimeoutNanos)
        _ = duration("write_timeout", default: 0)
        return limits
    }

    /// configgrpc's server limits: `max_concurrent_streams` (0: our default of 100, not
    /// unlimited) and `keepalive.server_parameters.max_connection_idle` (the idle timeout);
    /// the other keepalive keys are accepted and have no effect.
    public func grpcListenerLimits() -> ListenerLimits {
        var limits = ListenerLimits()
        let streams = int("max_concurrent_streams", default: 0, range: 0...100_000)
        if streams > 0 { limits.maxConcurrentStreams = streams }
        if let keepalive = section("keepalive") {
            if let server = keepalive.section("server_parameters") {
                limits.idleTimeoutNanos = server.positiveDuration("max_connection_idle", default: limits.idleTimeoutNanos)
                for key in ["max_connection_age", "max_connection_age_grace", "time", "timeout"] {
                    _ = server.duration(key, default: 0)
                }
            }
            if let policy = keepalive.section("enforcement_policy") {
                _ = policy.duration("min_time", default: 0)
                _ = policy.bool("permit_without_stream", default: false)
            }
        }
        return limits
    }

    private func positiveDuration(_ key: String, default value: UInt64) -> UInt64 {
        let read = duration(key, default: value)
        if node[key] != nil && read == 0 {
            problem(key, "must be greater than 0")
            return value
        }
        return read
    }
}
