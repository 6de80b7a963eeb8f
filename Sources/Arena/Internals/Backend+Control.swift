// jemalloc's control interface (`mallctl`) and statistics printer, for the typed `Jemalloc`
// API: the raw calls live here, behind the one door to C, and `Jemalloc.swift` imports none.

#if Jemalloc
internal import CJemalloc
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

extension Backend {
    /// Reads `name` into `value` (up to `size` bytes); on return `size` is what jemalloc wrote.
    ///
    /// The corresponding jemalloc call is `mallctl(name, value, &size, NULL, 0)`.
    static func control(read name: String, into value: UnsafeMutableRawPointer?, size: inout Int) -> Int32 {
        name.withCString { mallctl($0, value, &size, nil, 0) }
    }

    /// Writes `value` to `name`; `nil` runs a control that takes no value.
    ///
    /// The corresponding jemalloc call is `mallctl(name, NULL, NULL, value, value.count)`.
    static func control(write name: String, _ value: UnsafeMutableRawBufferPointer?) -> Int32 {
        name.withCString { mallctl($0, nil, nil, value?.baseAddress, value?.count ?? 0) }
    }

    /// The version string of the jemalloc headers the package was built against.
    ///
    /// The corresponding C macro is `JEMALLOC_VERSION`.
    static var headerVersion: String { String(cString: CJemalloc_JEMALLOC_VERSION()) }

    /// jemalloc's statistics report, as `malloc_stats_print` writes it with `options`.
    ///
    /// The corresponding jemalloc call is `malloc_stats_print(write_cb, context, options)`.
    static func printStatistics(options: String) -> [UInt8] {
        final class Sink { var text: [UInt8] = [] }
        let sink = Sink()
        malloc_stats_print(
            { context, message in
                guard let context, let message else { return }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                // SAFETY: jemalloc passes a NUL-terminated string valid for this call.
                let bytes = UnsafeRawBufferPointer(start: message, count: strlen(message))
                sink.text.append(contentsOf: bytes)
            },
            Unmanaged.passUnretained(sink).toOpaque(),
            options
        )
        return sink.text
    }
}
#endif
