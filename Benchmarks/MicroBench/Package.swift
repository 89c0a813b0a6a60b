// swift-tools-version: 6.1
// Micro-benchmarks with ordo-one's package-benchmark: throughput and allocations of the OTLP
// codecs, the splitter, the batch processor's merge, the store's append and the RED connectors,
// on the load tests' 1,000-span request (Benchmarks/out/traces.pb, written by
// Benchmarks/gen_request.py). Run with
// `make bench-micro`, or:
//
//   cd Benchmarks/MicroBench && swift package --allow-writing-to-package-directory benchmark
//
// Baselines: `make bench-micro BASELINE=compare|update` (see BENCHMARKS.md).
import PackageDescription

let package = Package(
    name: "MicroBench",
    dependencies: [
        // Only the malloc interposer (allocation counts): the runtime interposer for Swift 6.3
        // on Linux is not in the package mirror.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "collector", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "MicroBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "OTLPCodec", package: "collector"),
                .product(name: "CollectorCore", package: "collector"),
                .product(name: "BatchProcessor", package: "collector"),
                .product(name: "Store", package: "collector"),
                .product(name: "SpanMetricsConnector", package: "collector"),
                .product(name: "ServiceGraphConnector", package: "collector"),
            ],
            path: "Benchmarks/MicroBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
