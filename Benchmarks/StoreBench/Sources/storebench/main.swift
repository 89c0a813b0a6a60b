// Store benchmark (not a test; no assertions). Usage:
//   storebench <traces.pb> <directory> [requests=5000] [compression level=3] [sync=interval|none|always]
//              [block KiB=64] [hot blocks=2000]
// Ingests <requests> copies of the request with fresh trace ids (request r XORs its number
// into every trace id), then measures trace-by-id and search latency on the result. Then, in a
// second store, <hot blocks> batches (the same request with fresh ids) that each also hold one
// span of one same "hot" trace, and the latency of reading that trace back.
import Foundation
import OTLPCodec
import QueryAPI
import Store

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

let args = CommandLine.arguments
let payloadPath = args.count > 1 ? args[1] : "/work/main/Benchmarks/out/traces.pb"
let directory = args.count > 2 ? args[2] : "/tmp/storebench-data"
let requests = args.count > 3 ? Int(args[3])! : 5000
let level = args.count > 4 ? Int(args[4])! : 3
let syncMode = args.count > 5 ? args[5] : "interval"
let blockKiB = args.count > 6 ? Int(args[6])! : 64
let hotBlocks = args.count > 7 ? Int(args[7])! : 2000

var payload = [UInt8](try Data(contentsOf: URL(fileURLWithPath: payloadPath)))
let scan = try OTLPScanner.spans(payload)
let spansPerRequest = scan.spans.count
let ids = Array(Set(scan.spans.compactMap(\.traceID))).sorted()
// Offsets of every span's trace id (field 1) and start/end times (fields 7, 8), found by a
// small wire walk: request.1 -> resource_spans.2 -> scope_spans.2 -> span.
var idOffsets: [Int] = []
var timeOffsets: [Int] = []
func varint(_ b: [UInt8], _ i: inout Int) -> UInt64 {
    var v: UInt64 = 0, shift: UInt64 = 0
    while true { let x = b[i]; i += 1; v |= UInt64(x & 0x7F) << shift; if x < 0x80 { return v }; shift += 7 }
}
func walk(_ b: [UInt8], _ range: Range<Int>, depth: Int) {
    var i = range.lowerBound
    while i < range.upperBound {
        let key = varint(b, &i)
        let field = key >> 3, type = key & 7
        switch type {
        case 0: _ = varint(b, &i)
        case 1:
            if depth == 3 && (field == 7 || field == 8) { timeOffsets.append(i) }
            i += 8
        case 5: i += 4
        case 2:
            let n = Int(varint(b, &i))
            if depth < 3 && field == (depth == 0 ? 1 : 2) { walk(b, i..<(i + n), depth: depth + 1) }
            if depth == 3 && field == 1 { idOffsets.append(i) }
            i += n
        default: fatalError("wire type \(type)")
        }
    }
}
walk(payload, 0..<payload.count, depth: 0)
print("payload \(payload.count) bytes, \(spansPerRequest) spans, \(ids.count) traces, \(idOffsets.count) ids, \(timeOffsets.count) times")
let original = payload

/// Request r: bytes 0..7 of each trace id XOR r, times shifted by r x 10 ms.
func prepare(_ r: Int) {
    for o in idOffsets {
        for k in 0..<8 { payload[o + k] = original[o + k] ^ UInt8(truncatingIfNeeded: r >> (8 * (7 - k))) }
    }
    for o in timeOffsets {
        var t: UInt64 = 0
        for k in 0..<8 { t |= UInt64(original[o + k]) << (8 * UInt64(k)) }
        t &+= UInt64(r) * 10_000_000
        for k in 0..<8 { payload[o + k] = UInt8(truncatingIfNeeded: t >> (8 * UInt64(k))) }
    }
}

func idFor(request r: Int, trace t: Int) -> OTLPTraceID {
    let base = ids[t]
    return OTLPTraceID(high: base.high ^ UInt64(r), low: base.low)
}

try? FileManager.default.removeItem(atPath: directory)
var config = StoreConfig(directory: directory)
config.retentionMaxBytes = nil
config.retentionMaxAge = nil
config.compressionLevel = level
config.sync = syncMode == "always" ? .always : syncMode == "none" ? .none : .interval(.seconds(1))
config.blockMaxBytes = blockKiB << 10
print("block_max_bytes \(config.blockMaxBytes)")

var store = try TraceStore(config: config)
let cpu0 = cpuSeconds(), wall0 = now()
for r in 1...requests {
    prepare(r)
    try store.append(kind: .spans, payload: payload, itemCount: spansPerRequest)
}
let cpu1 = cpuSeconds(), wall1 = now()
store.waitForMaintenance()
let cpu2 = cpuSeconds(), wall2 = now()
let spans = Double(requests * spansPerRequest)
let stats = store.statistics()
print(String(format: "ingest: %.0f spans in %.2f s wall, %.2f CPU-s: %.0f spans/s, %.0f spans per CPU-second, %.3f CPU-s per million spans",
             spans, wall1 - wall0, cpu1 - cpu0, spans / (wall1 - wall0), spans / (cpu1 - cpu0), (cpu1 - cpu0) / spans * 1e6))
print(String(format: "sealing backlog after ingest: %.2f s wall, %.2f CPU-s", wall2 - wall1, cpu2 - cpu1))
print(String(format: "disk: %llu bytes (%d segments, %d sealed, %d blocks): %.1f bytes/span; payload %.1f bytes/span; compression %.2fx (blocks), %.2fx (with indexes)",
             stats.bytes, stats.segments, stats.sealedSegments, stats.blocks, Double(stats.bytes) / spans,
             Double(stats.payloadBytes) / spans, Double(stats.payloadBytes) / Double(stats.storedBytes),
             Double(stats.payloadBytes) / Double(stats.bytes)))

func lookups(_ label: String, _ store: TraceStore, count: Int) {
    var rng = SystemRandomNumberGenerator()
    var times: [Double] = []
    var spansFound = 0
    for _ in 0..<count {
        let id = idFor(request: Int.random(in: 1...requests, using: &rng), trace: Int.random(in: 0..<ids.count, using: &rng))
        let t0 = now()
        let trace = store.trace(id)
        times.append(now() - t0)
        spansFound += trace?.spanCount ?? 0
    }
    times.sort()
    print(String(format: "trace by id (%@, %d random ids): p50 %.3f ms, p99 %.3f ms, max %.3f ms, %.1f spans/trace",
                 label, count, percentile(times, 0.5) * 1e3, percentile(times, 0.99) * 1e3, times.last! * 1e3,
                 Double(spansFound) / Double(count)))
}

let firstTime = scan.spans.map(\.startTimeUnixNano).min()! + 10_000_000
let lastTime = scan.spans.map(\.endTimeUnixNano).max()! + UInt64(requests) * 10_000_000

func searches(_ store: TraceStore) {
    let cases: [(String, () -> [TraceSummary])] = [
        ("service=frontend limit=20", { store.search(service: "frontend", limit: 20) }),
        ("service=checkout operation=POST /api/orders", { store.search(service: "checkout", operation: "POST /api/orders", limit: 20) }),
        ("service=payment minDuration=100ms", { store.search(service: "payment", minDuration: .milliseconds(100), limit: 20) }),
        ("service=inventory in the last 1% of the time range", {
            store.search(service: "inventory", start: lastTime - (lastTime - firstTime) / 100, end: lastTime, limit: 20) }),
        ("tags error=true service=payment", { store.search(service: "payment", tags: ["error": "true"], limit: 20) }),
        ("tags http.response.status_code=500", { store.search(tags: ["http.response.status_code": "500"], limit: 20) }),
        ("services()", { _ = store.services(); return [] }),
    ]
    for (label, run) in cases {
        var times: [Double] = []
        var found = 0
        for _ in 0..<5 {
            let t0 = now()
            found = run().count
            times.append(now() - t0)
        }
        times.sort()
        print(String(format: "search %@: median %.1f ms (min %.1f, max %.1f), %d results", label,
                     times[2] * 1e3, times[0] * 1e3, times[4] * 1e3, found))
    }
}

lookups("open store, warm page cache", store, count: 5000)
searches(store)

/// TraceQL through the query API's handler (parse, candidates from the store, evaluation,
/// Tempo JSON): five typical queries, 21 runs each after one warm-up.
func traceQL(_ store: TraceStore) {
    let handler = QueryHandler(reader: store)
    let queries = [
        #"{ resource.service.name = "frontend" }"#,
        #"{ resource.service.name = "checkout" && name = "POST /api/orders" && duration > 150ms }"#,
        #"{ status = error }"#,
        #"{ span.http.response.status_code >= 500 && resource.service.name = "payment" }"#,
        #"{ resource.service.name = "frontend" } && { resource.service.name = "payment" && status = error }"#,
    ]
    for q in queries {
        let encoded = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q
        var times: [Double] = []
        var results = 0
        for run in 0..<22 {
            let t0 = now()
            let response = handler.handle(method: "GET", path: "/api/search", query: "q=\(encoded)&limit=20", accept: nil)
            let elapsed = (now() - t0) * 1000
            if run > 0 { times.append(elapsed) }
            results = String(decoding: response.body, as: UTF8.self).components(separatedBy: "\"traceID\"").count - 1
        }
        times.sort()
        print(String(format: "traceql %@: p50 %.1f ms, p99 %.1f ms, %d traces", q, percentile(times, 0.5), percentile(times, 0.99), results))
    }
}
traceQL(store)
store.close()
let open0 = now(), openCPU0 = cpuSeconds()
store = try TraceStore(config: config)
print(String(format: "reopen (recovery: sealed indexes checked, active segment scanned): %.2f s wall, %.2f CPU-s",
             now() - open0, cpuSeconds() - openCPU0))
lookups("after reopen", store, count: 5000)
store.close()

// A hot trace: one span of it in each of `hotBlocks` batches.
let hotDirectory = directory + "-hot"
try? FileManager.default.removeItem(atPath: hotDirectory)
var hotConfig = config
hotConfig.directory = hotDirectory
store = try TraceStore(config: hotConfig)
let hotID = OTLPTraceID(high: 0x0123_4567_89ab_cdef, low: 0xfedc_ba98_7654_3210)
func hotSpan(_ i: Int) -> [UInt8] {
    // request{resource_spans{scope_spans{span{trace_id, span_id, name, start, end}}}}
    func ld(_ key: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [key]
        var n = UInt64(payload.count)
        while n >= 0x80 { out.append(UInt8(n & 0x7F) | 0x80); n >>= 7 }
        out.append(UInt8(n))
        return out + payload
    }
    var id: [UInt8] = []
    for k in 0..<8 { id.append(UInt8(truncatingIfNeeded: hotID.high >> (8 * (7 - k)))) }
    for k in 0..<8 { id.append(UInt8(truncatingIfNeeded: hotID.low >> (8 * (7 - k)))) }
    var spanID: [UInt8] = []
    for k in 0..<8 { spanID.append(UInt8(truncatingIfNeeded: UInt64(i + 1) >> (8 * (7 - k)))) }
    var span = ld(0x0A, id) + ld(0x12, spanID) + ld(0x2A, Array("hot \(i)".utf8))
    span += [0x39] + withUnsafeBytes(of: (firstTime + UInt64(i)).littleEndian, Array.init)
    span += [0x41] + withUnsafeBytes(of: (firstTime + UInt64(i) + 1000).littleEndian, Array.init)
    return ld(0x0A, ld(0x12, ld(0x12, span)))
}
for r in 1...hotBlocks {
    prepare(requests + r)
    try store.append(kind: .spans, payload: payload + hotSpan(r), itemCount: spansPerRequest + 1)
}
store.waitForMaintenance()
var hotTimes: [Double] = []
var hotSpans = 0
for _ in 0..<21 {
    let t0 = now()
    hotSpans = store.trace(hotID)?.spanCount ?? 0
    hotTimes.append(now() - t0)
}
hotTimes.sort()
print(String(format: "hot trace (one span in each of %d batches of %d spans, %d blocks in the store): %d spans, p50 %.1f ms, max %.1f ms (21 reads)",
             hotBlocks, spansPerRequest + 1, store.statistics().blocks, hotSpans, percentile(hotTimes, 0.5) * 1e3, hotTimes.last! * 1e3))
store.close()
try? FileManager.default.removeItem(atPath: hotDirectory)
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
print("max RSS \(usage.ru_maxrss / 1024) MiB")
