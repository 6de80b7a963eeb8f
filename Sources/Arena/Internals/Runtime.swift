#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

// The runtime's batch reference counting (`swift_retain_n`/`swift_release_n`, C calling
// convention, exported by libswiftCore), so a carve hands out a prepaid reference instead of
// paying an atomic increment: that increment was half the cost of a small allocation on our
// machines. Looked up once with `dlsym`, since Swift reserves the names for the compiler.
private typealias RetainN = @convention(c) (UnsafeMutableRawPointer, UInt32) -> UnsafeMutableRawPointer
private typealias ReleaseN = @convention(c) (UnsafeMutableRawPointer, UInt32) -> Void

nonisolated(unsafe) private let runtimeRetainN: RetainN = runtimeFunction("swift_retain_n")
nonisolated(unsafe) private let runtimeReleaseN: ReleaseN = runtimeFunction("swift_release_n")

private func runtimeFunction<F>(_ name: String) -> F {
    guard let symbol = dlsym(nil, name) else { fatalError("the Swift runtime does not export \(name)") }
    return unsafeBitCast(symbol, to: F.self)
}

/// Adds `count` strong references to `object` in one atomic operation.
@inline(__always)
func swiftRetainN(_ object: UnsafeMutableRawPointer, _ count: UInt32) {
    _ = runtimeRetainN(object, count)
}

/// Drops `count` strong references from `object` in one atomic operation.
@inline(__always)
func swiftReleaseN(_ object: UnsafeMutableRawPointer, _ count: UInt32) {
    runtimeReleaseN(object, count)
}

/// A pointer that crosses a lock boundary; the lock is what makes that safe.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
}

/// Pointers that cross a lock boundary; the lock is what makes that safe.
struct SendablePointers: @unchecked Sendable {
    let pointers: [UnsafeMutableRawPointer]
    init(_ pointers: [SendablePointer]) { self.pointers = pointers.map(\.pointer) }
}
