// swift-tools-version: 6.2
// arena-kv: a Redis-protocol cache whose keys and values live in an arena. A user of the
// library in its own package: it depends on swift-arena by relative path, as a user's server
// would, uses only its public products (ArenaBytes, ArenaNIO; Arena's `FaultInjection` SPI for
// the refusals that tests ask for) and brings its own dependencies.
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its directory, which is whatever the clone is called.
let arena = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent

/// Warnings are errors, as in the library.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

/// Tests skip warnings-as-errors: Swift Testing's macro expansions warn on some toolchains.
let testSettings: [SwiftSetting] = []

let package = Package(
    name: "arena-kv",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ArenaKV", targets: ["ArenaKV"]),
        .executable(name: "arena-kv", targets: ["arena-kv"]),
    ],
    traits: [
        .trait(
            name: "Jemalloc",
            description: "Build swift-arena with its Jemalloc trait (and `MEMORY MALLOC-STATS`). Off: for sanitizers."
        ),
        .default(enabledTraits: ["Jemalloc"]),
    ],
    dependencies: [
        .package(
            path: "../..",
            traits: [.trait(name: "Jemalloc", condition: .when(traits: ["Jemalloc"]))]
        ),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Documentation only (`swift package generate-documentation`, run by Scripts/test).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "ArenaKV",
            dependencies: [
                .product(name: "Arena", package: arena),
                .product(name: "ArenaBytes", package: arena),
                .product(name: "ArenaNIO", package: arena),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "arena-kv",
            dependencies: [
                "ArenaKV",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ArenaKVTests",
            dependencies: [
                "ArenaKV",
                .product(name: "Arena", package: arena),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: testSettings
        ),
        // Runs the built `arena-kv` (and the library's `arena-stats`, to read `MEMORY
        // MALLOC-STATS`) as child processes, driven by redis-cli, redis-benchmark and a seeded
        // fuzzer over raw sockets.
        .testTarget(
            name: "ArenaKVServerTests",
            dependencies: ["arena-kv", .product(name: "arena-stats", package: arena)],
            swiftSettings: testSettings
        ),
    ]
)
