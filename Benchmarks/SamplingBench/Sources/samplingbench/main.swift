// Sampling benchmark in process (not a test; no assertions). Usage:
//   samplingbench <bodies.bin> [rounds=5] [scenarios=batch,head,tail,tail-storage]
// Feeds every body (length-prefixed ExportTraceServiceRequests from Benchmarks/gen_bodies.py)
// through one processor and reports CPU nanoseconds per span, median of the rounds:
//   batch         the batch processor (the plain pipeline's only processor), for reference
//   head          probabilistic_sampler 25%, hash_seed
//   layout, read  parts of head: laying out the requests, and reading each span's fields
//   tail          tail_sampling with the 5 policies of Benchmarks/sampling.sh, memory hold
//   tail-storage  the same with `storage` in a temporary directory
// Tail sampling time includes the decisions (the clock is moved past decision_wait at the end).
// Each round uses new instances; a tail round XORs the round into every trace id. Each request
// is brought into the cache before it is timed (the receiver has just read and validated it).
import CollectorCore
import BatchProcessor
import OTLPCodec
import ProbabilisticSampler
import TailSampling
import Glibc

func cpuNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func readBodies(_ path: String) -> [[UInt8]] {
    guard let f = fopen(path, "rb") else { fatalError("cannot open \(path)") }
    defer { fclose(f) }
    var bodies: [[UInt8]] = []
    var header = [UInt8](repeating: 0, count: 4)
    while fread(&header, 1, 4, f) == 4 {
        let n = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        var body = [UInt8](repeating: 0, count: n)
        guard fread(&body, 1, n, f) == n else { fatalError("short body") }
        bodies.append(body)
    }
    return bodies
}

/// Byte offsets of every span's trace id (field 1 of each span) in `body`.
func traceIDOffsets(_ body: [UInt8]) -> [Int] {
    body.withUnsafeBytes { raw in
        guard let layout = try? OTLPRequestLayout(.traces, raw) else { return [] }
        return layout.items.compactMap { item in (try? OTLPSpanFields(raw, item.payload))?.traceID.lowerBound }
    }
}

/// Brings a request into the cache, as the receiver's validation pass has when a processor
/// sees it (the bodies together are far larger than the cache). Not timed.
var warmSum = 0
func warm(_ body: [UInt8]) {
    body.withUnsafeBytes { raw in
        var i = 0
        while i < raw.count { warmSum &+= Int(raw[i]); i += 64 }
    }
}

let args = CommandLine.arguments
let bodies = readBodies(args.count > 1 ? args[1] : "../out/bodies.bin")
let rounds = args.count > 2 ? Int(args[2])! : 5
let scenarios = (args.count > 3 ? args[3] : "batch,head,tail,tail-storage").split(separator: ",").map(String.init)
let spans = bodies.reduce(0) { $0 + traceIDOffsets($1).count }
let offsets = bodies.map(traceIDOffsets)
let metrics = MetricsRegistry()
let logger = Logger(minimum: .error) { _, line in print(line) }

func policies() -> [PolicySettings] {
    [PolicySettings(name: "errors", kind: .statusCode([2])),
     PolicySettings(name: "slow", kind: .latency(thresholdMs: 400, upperThresholdMs: 0)),
     PolicySettings(name: "checkout", kind: .stringAttribute(key: "http.route", values: ["/api/orders"], regex: false, invert: false)),
     PolicySettings(name: "five-hundreds", kind: .numericAttribute(key: "http.response.status_code", min: 500, max: 599, invert: false)),
     PolicySettings(name: "baseline", kind: .probabilistic(hashSalt: "", percentage: 10))]
}

/// One round of `scenario`: CPU ns per span and spans emitted.
func round(_ scenario: String, _ r: Int) throws -> (Double, Int) {
    var out = 0
    let emit: (TelemetryBatch) -> Void = { out += $0.itemCount }
    var inputs = bodies
    if scenario.hasPrefix("tail") {
        for i in inputs.indices { for o in offsets[i] { inputs[i][o] ^= UInt8(truncatingIfNeeded: r + 1) } }
    }
    let batches = inputs.map { TelemetryBatch(signal: .traces, payload: $0, itemCount: 1000) }
    var directory: String?
    let processor: any Processor
    let clock = ManualClock()
    switch scenario {
    case "batch":
        var s = BatchSettings()
        s.sendBatchSize = 8192
        processor = BatchProcessor(settings: s, name: "batch", metrics: metrics) { signal, bytes, max in
            try OTLPSplitter.split(signal == .traces ? .traces : .logs, protobuf: bytes, maxItems: max)
        }
    case "head", "layout", "read":
        var s = ProbabilisticSamplerSettings()
        s.samplingPercentage = 25
        processor = ProbabilisticSampler(settings: s, name: "probabilistic_sampler", metrics: metrics, logger: logger)
    default:
        var s = TailSamplingSettings()
        s.decisionWait = 5_000_000_000
        s.numTraces = 300_000
        s.policies = policies()
        if scenario == "tail-storage" {
            var template = Array("/tmp/samplingbench.XXXXXX".utf8CString)
            directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
            s.storage = directory
        }
        let tail = try TailSampler(settings: s, name: ComponentID(type: "tail_sampling"), metrics: metrics, logger: logger,
                                   logs: HoldLogRegistry(), clock: clock)
        try tail.start()
        processor = tail
    }
    var elapsed: UInt64 = 0
    if scenario == "layout" || scenario == "read" {
        // The parts of the head sampler's walk: the request layout, then each span's fields.
        var fields = OTLPSpanSamplingFields()
        let key = Array("sampling.priority".utf8)
        for body in inputs {
            warm(body)
            let start = cpuNanos()
            body.withUnsafeBytes { raw in
                let layout = try! OTLPRequestLayout(.traces, raw)
                out += layout.items.count
                if scenario == "read" { for item in layout.items { try! fields.read(raw, item.payload, attributeKey: key) } }
            }
            elapsed += cpuNanos() - start
        }
        return (Double(elapsed) / Double(spans), out)
    }
    for batch in batches {
        warm(batch.payload)
        let start = cpuNanos()
        processor.process(batch, now: clock.now(), emit: emit)
        elapsed += cpuNanos() - start
    }
    let start = cpuNanos()
    clock.advance(by: 6_000_000_000)
    processor.timerFired(now: clock.now(), emit: emit)
    processor.flush(emit: emit)
    elapsed += cpuNanos() - start
    (processor as? TailSampler)?.shutdown()
    if let directory { _ = system("rm -rf '\(directory)'") }
    return (Double(elapsed) / Double(spans), out)
}

print("\(bodies.count) bodies, \(spans) spans, \(rounds) rounds")
for scenario in scenarios {
    var times: [Double] = []
    var emitted = 0
    for r in 0..<rounds {
        let (ns, out) = try round(scenario, r)
        times.append(ns)
        emitted = out
    }
    times.sort()
    let line = "\(scenario): \(Int(times[times.count / 2])) ns/span median (min \(Int(times[0])), max \(Int(times[times.count - 1]))), \(emitted) of \(spans) spans out"
    print(line)
}
