import Benchmark

#if canImport(Glibc)
import Glibc
#endif

/// The load tests' request: 1,000 spans in 5 resources (Benchmarks/gen_request.py), read from
/// `Benchmarks/out/traces.pb` or the file `MICROBENCH_REQUEST` names.
let request: [UInt8] = {
    let path = getenv("MICROBENCH_REQUEST").map { String(cString: $0) } ?? "../out/traces.pb"
    guard let file = fopen(path, "rb") else { fatalError("cannot open \(path): run Benchmarks/gen_request.py first") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes
}()

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .one,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
    // One iteration = one 1,000-span request; spans per second = throughput x 1,000.
    codecBenchmarks()
    pipelineBenchmarks()
    connectorBenchmarks()
}
