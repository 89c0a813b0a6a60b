import Benchmark
import OTLPCodec

private let requestJSON: [UInt8] = try! OTLPJSON.encode(.traces, protobuf: request)

/// OTLP/JSON in and out, the validator every request passes, the batch processor's splitter.
func codecBenchmarks() {
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
