// swift-tools-version: 6.2
import PackageDescription

/// Settings every target of ours shares: warnings are errors, and `ARENA_INTERNAL_CHECKS`
/// (set with `-Xswiftc -DARENA_INTERNAL_CHECKS`) turns on the `_invariantCheck()` bodies.
let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
    .enableExperimentalFeature("Lifetimes"),
]

/// Tests skip warnings-as-errors: Swift Testing's macro expansions warn on some toolchains.
let testSettings: [SwiftSetting] = []

let package = Package(
    name: "swift-arena",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Arena", targets: ["Arena"]),
        .library(name: "ArenaBytes", targets: ["ArenaBytes"]),
        .library(name: "ArenaNIO", targets: ["ArenaNIO"]),
        .library(name: "ArenaFFI", type: .dynamic, targets: ["ArenaFFI"]),
        .executable(name: "arena-stats", targets: ["arena-stats"]),
        .executable(name: "arena-stress", targets: ["arena-stress"]),
    ],
    traits: [
        .trait(
            name: "Jemalloc",
            description: "Back arenas with jemalloc (libjemalloc-dev). Off: posix_memalign/free, for sanitizers."
        ),
        .default(enabledTraits: ["Jemalloc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        // Documentation only (`swift package generate-documentation`, run by Scripts/test).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CJemalloc",
            path: "CJemalloc",
            pkgConfig: "jemalloc",
            providers: [.apt(["libjemalloc-dev"]), .brew(["jemalloc"])]
        ),
        // The Swift runtime's batch retain/release and ThreadSanitizer annotations.
        .target(name: "CArenaRuntime"),
        .target(
            name: "Arena",
            dependencies: [
                "CArenaRuntime",
                .target(name: "CJemalloc", condition: .when(traits: ["Jemalloc"])),
            ],
            swiftSettings: strict
        ),
        .target(name: "ArenaBytes", dependencies: ["Arena"], swiftSettings: strict),
        .target(
            name: "ArenaNIO",
            dependencies: ["ArenaBytes", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ArenaNIOTests",
            dependencies: [
                "ArenaNIO", "ArenaTestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: testSettings
        ),
        .target(name: "ArenaFFI", dependencies: ["ArenaBytes"], exclude: ["include"], swiftSettings: strict),
        .testTarget(name: "ArenaFFITests", dependencies: ["ArenaFFI"], swiftSettings: testSettings),
        // The executables' shared plumbing (one-line errors, byte counts, profile summaries); not a product.
        .target(
            name: "ArenaToolSupport",
            dependencies: ["Arena", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .target(name: "ArenaStatsKit", dependencies: ["Arena", "ArenaToolSupport"], swiftSettings: strict),
        .executableTarget(
            name: "arena-stats",
            dependencies: [
                "ArenaStatsKit", "ArenaToolSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(name: "ArenaStressKit", dependencies: ["ArenaBytes", "ArenaToolSupport"], swiftSettings: strict),
        .executableTarget(
            name: "arena-stress",
            dependencies: [
                "ArenaStressKit", "ArenaToolSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // What the test targets share: the seed, SplitMix64, child processes, built executables.
        .target(
            name: "ArenaTestSupport",
            dependencies: ["Arena", "ArenaToolSupport"],
            path: "Tests/ArenaTestSupport",
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "ArenaStressTests",
            dependencies: ["ArenaStressKit", "arena-stress", "ArenaTestSupport"],
            swiftSettings: testSettings
        ),
        .testTarget(name: "ArenaTests", dependencies: ["Arena", "ArenaTestSupport"], swiftSettings: testSettings),
        .testTarget(
            name: "ArenaBytesTests",
            dependencies: ["ArenaBytes", "ArenaTestSupport"],
            swiftSettings: testSettings
        ),
        .testTarget(
            name: "ArenaStatsTests",
            dependencies: ["ArenaStatsKit", "arena-stats", "ArenaTestSupport"],
            swiftSettings: testSettings
        ),
    ]
)
