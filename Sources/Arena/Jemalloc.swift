#if Jemalloc

/// Typed access to jemalloc's control interface (`mallctl`) and statistics.
///
/// Exists only with the `Jemalloc` package trait on (the default). Names are jemalloc's own,
/// as `man 3 jemalloc` lists them: `"version"`, `"stats.allocated"`,
/// `"stats.arenas.<i>.pactive"`, `"thread.allocated"`, `"arena.<i>.purge"`, …
///
/// jemalloc checks the size of every value it reads or writes, so asking for the wrong type
/// throws `ArenaError.jemalloc(name:code:)` with `EINVAL` rather than reading garbage; an
/// unknown name throws with `ENOENT`.
public enum Jemalloc {
    /// The version of the jemalloc library the process runs, e.g. `"5.3.0-0-g54eaed1d…"`.
    ///
    /// The corresponding jemalloc call is `mallctl("version", …)`.
    public static var version: String {
        (try? readString("version")) ?? Backend.headerVersion
    }

    /// Reads a fixed-size value: `UInt32` for `unsigned`, `Int`/`UInt` for `size_t`/`ssize_t`,
    /// `UInt64` for `uint64_t`, `Bool` for `bool`.
    ///
    /// The corresponding jemalloc call is `mallctl(name, &value, &size, NULL, 0)`.
    /// - Throws: `ArenaError.jemalloc` with `ENOENT` (unknown name), `EINVAL` (wrong size), ….
    public static func read<T: BitwiseCopyable>(_ name: String, as type: T.Type = T.self) throws(ArenaError) -> T {
        var size = MemoryLayout<T>.size
        // A 16-byte stack buffer covers every value jemalloc has, and `withCString` passes a
        // native string's own bytes: reading a statistic must not allocate (tests and
        // benchmarks count allocations with it). A larger type gets a heap buffer.
        var small: (UInt64, UInt64) = (0, 0)
        let code: Int32
        let value: T
        if size <= MemoryLayout.size(ofValue: small) {
            (code, value) = withUnsafeMutableBytes(of: &small) { buffer in
                let code = Backend.control(read: name, into: buffer.baseAddress, size: &size)
                // SAFETY: the buffer holds 16 bytes; the value is only used when jemalloc wrote
                // exactly `MemoryLayout<T>.size` of them (checked below).
                return (code, buffer.loadUnaligned(as: T.self))
            }
        } else {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: MemoryLayout<T>.alignment)
            defer { buffer.deallocate() }
            code = Backend.control(read: name, into: buffer.baseAddress, size: &size)
            value = buffer.loadUnaligned(as: T.self)
        }
        guard code == 0 else { throw .jemalloc(name: name, code: code) }
        guard size == MemoryLayout<T>.size else { throw .jemalloc(name: name, code: 22) }
        return value
    }

    /// Reads a string value (`const char *`), such as `"version"` or `"opt.dss"`.
    ///
    /// The corresponding jemalloc call is `mallctl(name, &pointer, &size, NULL, 0)`.
    public static func readString(_ name: String) throws(ArenaError) -> String {
        let pointer = try read(name, as: UnsafePointer<CChar>?.self)
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    /// Writes a fixed-size value, such as `"arena.<i>.dirty_decay_ms"` (an `Int`).
    ///
    /// The corresponding jemalloc call is `mallctl(name, NULL, NULL, &value, sizeof value)`.
    public static func write<T: BitwiseCopyable>(_ name: String, _ value: T) throws(ArenaError) {
        var value = value
        let code = withUnsafeMutableBytes(of: &value) { Backend.control(write: name, $0) }
        guard code == 0 else { throw .jemalloc(name: name, code: code) }
    }

    /// Runs a control that takes no value, such as `"arena.<i>.purge"` or `"thread.tcache.flush"`.
    ///
    /// The corresponding jemalloc call is `mallctl(name, NULL, NULL, NULL, 0)`.
    public static func run(_ name: String) throws(ArenaError) {
        let code = Backend.control(write: name, nil)
        guard code == 0 else { throw .jemalloc(name: name, code: code) }
    }

    /// Refreshes jemalloc's statistics, which read stale until the epoch advances
    /// (about 17 µs per arena: keep it off hot paths).
    ///
    /// The corresponding jemalloc call is `mallctl("epoch", NULL, NULL, &one, sizeof one)`.
    public static func advanceEpoch() {
        Backend.statisticsSnapshot.withLock { _ in try? write("epoch", UInt64(1)) }
    }

    /// The bytes the calling thread has allocated through jemalloc so far (`thread.allocated`),
    /// counting every allocation, ours and the rest of the process's.
    public static var threadAllocatedBytes: UInt64 {
        (try? read("thread.allocated", as: UInt64.self)) ?? 0
    }

    /// jemalloc's own statistics report, as `malloc_stats_print` prints it.
    ///
    /// Safe while other threads create, read and destroy arenas: the package serializes its
    /// own `epoch` refreshes and arena destructions with the walk (a refresh made with
    /// `write("epoch", …)` directly is not covered).
    ///
    /// - Parameter options: `malloc_stats_print`'s option letters; `"J"` (the default) gives JSON
    ///   covering every arena, under `jemalloc.stats.arenas.<i>`.
    ///
    /// The corresponding jemalloc call is `malloc_stats_print(write_cb, context, options)`.
    public static func statisticsJSON(options: String = "J") -> String {
        // Under the snapshot lock: an epoch refresh or an arena's destruction on another thread
        // while jemalloc walks the arenas would abort the process.
        let text = Backend.statisticsSnapshot.withLock { _ in
            try? write("epoch", UInt64(1))
            return Backend.printStatistics(options: options)
        }
        return String(decoding: text, as: UTF8.self)
    }
}
#endif
