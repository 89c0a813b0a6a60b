// swift-tools-version: 6.1
// Store benchmark: ingest, compression, trace-by-id, search and TraceQL latency on a store of
// millions of spans. Builds the root package's Store and OTLPCodec libraries in release mode.
//
//   cd Benchmarks/StoreBench && swift build -c release
//   .build/release/storebench ../out/traces.pb /tmp/storebench-data 5000 3 interval
import PackageDescription

let package = Package(
    name: "StoreBench",
    dependencies: [.package(name: "collector", path: "../..")],
    targets: [
        .executableTarget(
            name: "storebench",
            dependencies: [.product(name: "Store", package: "collector"), .product(name: "OTLPCodec", package: "collector"),
                           .product(name: "QueryAPI", package: "collector")],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
