// swift-tools-version: 6.1
// libFuzzer targets for everything that parses bytes a client, a file or an operator controls.
// Each target is an executable without `main`: libFuzzer supplies it and calls
// `LLVMFuzzerTestOneInput`. Build with the fuzzer and address sanitizers (`make fuzz` does):
//
//   cd Fuzz && swift build -c release --scratch-path ../.build-fuzz \
//       --sanitize fuzzer --sanitize address -Xswiftc -enable-testing
//   ../.build-fuzz/release/FuzzOTLPProtobuf corpus/FuzzOTLPProtobuf -max_total_time=60
//
// `-enable-testing` lets the targets `@testable import` the internal parsers of the root package
// (Fuzz/README.md lists what each target covers and its oracles).
import PackageDescription

let targets = [
    "FuzzOTLPProtobuf", "FuzzOTLPJSON", "FuzzHTTP1", "FuzzHTTP2", "FuzzGRPC", "FuzzConfig",
    "FuzzSegment", "FuzzIndex", "FuzzFileLog", "FuzzLoki",
]

let dependencies: [String: [Target.Dependency]] = [
    "FuzzOTLPProtobuf": [.product(name: "OTLPCodec", package: "collector")],
    "FuzzOTLPJSON": [.product(name: "OTLPCodec", package: "collector")],
    "FuzzHTTP1": ["FuzzTransportSupport", .product(name: "Transport", package: "collector")],
    "FuzzHTTP2": ["FuzzTransportSupport", .product(name: "Transport", package: "collector"),
                  .product(name: "OTLPCodec", package: "collector")],
    "FuzzGRPC": [.product(name: "Transport", package: "collector")],
    "FuzzConfig": [.product(name: "CollectorCore", package: "collector"), .product(name: "CollectorService", package: "collector")],
    "FuzzSegment": ["FuzzStoreSupport", .product(name: "Store", package: "collector"), .product(name: "OTLPCodec", package: "collector")],
    "FuzzIndex": ["FuzzStoreSupport", .product(name: "Store", package: "collector"), .product(name: "OTLPCodec", package: "collector"),
                  .product(name: "Checksums", package: "collector")],
    "FuzzFileLog": [.product(name: "FileLogReceiver", package: "collector"), .product(name: "OTLPCodec", package: "collector")],
    "FuzzLoki": ["FuzzLokiReference", .product(name: "LokiExporter", package: "collector"), .product(name: "OTLPCodec", package: "collector")],
]

let package = Package(
    name: "Fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "collector", path: "..")],
    targets: [
        // Reading options out of the fuzzer's bytes, and failing loudly when an oracle does not hold.
        .target(name: "FuzzSupport"),
        // A protocol session on a real Connection over a socket pair (HTTP/1.1 and HTTP/2 targets).
        .target(name: "FuzzTransportSupport", dependencies: ["FuzzSupport", .product(name: "Transport", package: "collector")]),
        // Opening index files and comparing sealed and memory indexes (segment and index targets).
        .target(name: "FuzzStoreSupport", dependencies: ["FuzzSupport", .product(name: "Store", package: "collector"),
                                                         .product(name: "OTLPCodec", package: "collector")]),
        // The Loki unit tests' reference push encoder (a link to Tests/LokiExporterTests), the
        // transcoder's oracle.
        .target(name: "FuzzLokiReference", dependencies: [.product(name: "LokiExporter", package: "collector")]),
    ] + targets.map { name in
        .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies[name]!)
    }
)
