// swift-tools-version: 6.1
// Sampling benchmark in process (no network): nanoseconds per span of the probabilistic_sampler
// and tail_sampling processors over the same bodies the end-to-end benchmark sends.
//
//   .venv/bin/python Benchmarks/gen_bodies.py Benchmarks/out/bodies.bin 200
//   cd Benchmarks/SamplingBench && swift build -c release
//   .build/release/samplingbench ../out/bodies.bin [rounds=5]
import PackageDescription

let package = Package(
    name: "SamplingBench",
    dependencies: [.package(name: "collector", path: "../..")],
    targets: [
        .executableTarget(
            name: "samplingbench",
            dependencies: [
                .product(name: "CollectorCore", package: "collector"),
                .product(name: "ProbabilisticSampler", package: "collector"),
                .product(name: "TailSampling", package: "collector"),
                .product(name: "BatchProcessor", package: "collector"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
