// swift-tools-version: 6.1
// Codec micro-benchmarks with ordo-one's package-benchmark: throughput and allocations of the
// OTLP codecs on the load tests' 1,000-span request (Benchmarks/out/traces.pb, written by
// Benchmarks/gen_request.py). Run with `make bench-codec`, or:
//
//   cd Benchmarks/CodecBench && swift package --allow-writing-to-package-directory benchmark
//
// Baselines: `swift package benchmark baseline update` / `baseline compare` (see BENCHMARKS.md).
import PackageDescription

let package = Package(
    name: "CodecBench",
    dependencies: [
        // Only the malloc interposer (allocation counts): the runtime interposer for Swift 6.3
        // on Linux is not in the package mirror.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "collector", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "OTLPCodec", package: "collector"),
            ],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
