// swift-tools-version: 6.1
// The loadbalancing ring on paper: balance over 10 to 1,000 gateways and the fraction of traces
// that move when one gateway joins or leaves, computed with the exporter's own HashRing.
//
//   cd Benchmarks/RingModel && swift build -c release && .build/release/ringmodel
import PackageDescription

let package = Package(
    name: "RingModel",
    dependencies: [.package(name: "collector", path: "../..")],
    targets: [
        .executableTarget(
            name: "ringmodel",
            dependencies: [.product(name: "LoadBalancingExporter", package: "collector")]
        ),
    ]
)
