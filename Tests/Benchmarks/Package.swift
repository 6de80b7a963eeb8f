// swift-tools-version: 6.1
// The benchmark package: ordo-one/benchmark targets that measure the arena and the byte views
// against NIO's ByteBuffer, Foundation's Data, [UInt8] and malloc in one run. Nested in the
// repository so the root build ignores it; `Scripts/bench` builds, runs and summarizes it.
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its directory, which is whatever the clone is called.
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent

let package = Package(
    name: "ArenaBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        // The malloc interposer only: the Swift runtime interposer (a default trait on Linux with
        // Swift 6.3) is not needed for our metrics.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        .executableTarget(
            name: "ArenaBenchmarks",
            dependencies: [
                .product(name: "ArenaBytes", package: root),
                .product(name: "ArenaNIO", package: root),
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/ArenaBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
