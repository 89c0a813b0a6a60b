import Benchmark
import OTLPCodec

#if canImport(Glibc)
import Glibc
#endif

/// The load tests' request: 1,000 spans in 5 resources (Benchmarks/gen_request.py), read from
/// `Benchmarks/out/traces.pb` or the file `CODECBENCH_REQUEST` names.
private let request: [UInt8] = {
    let path = getenv("CODECBENCH_REQUEST").map { String(cString: $0) } ?? "../out/traces.pb"
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

private let requestJSON: [UInt8] = try! OTLPJSON.encode(.traces, protobuf: request)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .one,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )

    // One iteration = one request; spans per second = throughput x spans.
    Benchmark("OTLP/JSON decode (1,000-span request)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try OTLPJSON.decode(.traces, json: requestJSON))
        }
    }

    Benchmark("OTLP/JSON decode, reference decoder (1,000-span request)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try OTLPJSON.referenceDecode(.traces, json: requestJSON))
        }
    }

    Benchmark("OTLP/JSON encode (1,000-span request)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try OTLPJSON.encode(.traces, protobuf: request))
        }
    }

    Benchmark("OTLP protobuf validate (1,000-span request)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try OTLPValidator.counts(.traces, protobuf: request))
        }
    }

    Benchmark("OTLP split into 100-span requests (1,000-span request)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try OTLPSplitter.split(.traces, protobuf: request, maxItems: 100))
        }
    }
}
