import Arena
import ArenaToolSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading the statistics a command is pointed at: a file, or standard input for `-`.
package enum InputFile {
    /// How a path is named in messages: `<stdin>` for `-`, else the path as given.
    package static func displayName(_ path: String) -> String {
        path == "-" ? "<stdin>" : path
    }

    /// The most bytes `read` takes by default: 256 MiB (jemalloc's statistics of a process
    /// with thousands of arenas are a few tens of MiB).
    package static let defaultMaximumBytes = 256 << 20

    /// All bytes of the file at `path`, or of standard input when `path` is `-`, up to
    /// `maximumBytes`.
    ///
    /// Input that starts as something other than jemalloc's output is refused after its first
    /// ``StatsDocument/sniffLength`` bytes (see ``StatsDocument/rejectEarly(_:source:)``), so
    /// `/dev/zero` or a large binary file ends quickly.
    ///
    /// - Throws: ``StatsInputError``: `unreadable`, with the system's reason ("No such file or
    ///   directory", "Is a directory", …); `tooLarge` past `maximumBytes`; `notJSON` for garbage.
    package static func read(
        _ path: String,
        maximumBytes: Int = defaultMaximumBytes
    ) throws(StatsInputError) -> [UInt8] {
        let source = displayName(path)
        func failure(_ action: String) -> StatsInputError {
            let reason = String(cString: strerror(errno))
            return StatsInputError(source: source, kind: .unreadable, detail: "cannot \(action): \(reason)")
        }
        func tooLarge() -> StatsInputError {
            StatsInputError(
                source: source,
                kind: .tooLarge,
                detail: "more than \(maximumBytes) bytes (\(formatBytes(maximumBytes))), the input limit: "
                    + "raise it with --max-input-bytes"
            )
        }
        let descriptor: Int32
        if path == "-" {
            descriptor = STDIN_FILENO
        } else {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw failure("open") }
        }
        defer { if path != "-" { close(descriptor) } }

        var bytes: [UInt8] = []
        var status = stat()
        if fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG {
            guard Int(status.st_size) <= maximumBytes else { throw tooLarge() }
            bytes.reserveCapacity(Int(status.st_size) + (1 << 16))
        }
        var sniffed = false
        let chunkSize = 1 << 16
        while true {
            if bytes.count > maximumBytes { throw tooLarge() }
            if !sniffed && bytes.count >= StatsDocument.sniffLength {
                sniffed = true
                try StatsDocument.rejectEarly(bytes[...], source: source)
            }
            let before = bytes.count
            var failed = false
            bytes.append(contentsOf: repeatElement(0, count: chunkSize))
            let count = bytes.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress! + before, chunkSize)
            }
            if count < 0 { failed = errno != EINTR }
            bytes.removeLast(chunkSize - max(0, count))
            if failed { throw failure("read") }
            if count == 0 { return bytes }
        }
    }

    /// Reads and parses the statistics at `path` (a file, or `-` for standard input): the
    /// document numbered `index` (from 1), by default the last.
    ///
    /// - Throws: ``StatsInputError``: unreadable, too large, empty, truncated, not JSON, text
    ///   format, wrong shape, or no such document.
    package static func document(
        at path: String,
        index: Int? = nil,
        maximumBytes: Int = defaultMaximumBytes
    ) throws(StatsInputError) -> StatsDocument {
        try StatsDocument.parse(read(path, maximumBytes: maximumBytes), source: displayName(path), document: index)
    }

    /// Reads and parses every statistics document at `path`.
    ///
    /// - Throws: ``StatsInputError``, as ``document(at:index:maximumBytes:)``.
    package static func documents(
        at path: String,
        maximumBytes: Int = defaultMaximumBytes
    ) throws(StatsInputError) -> [StatsDocument] {
        try StatsDocument.parseAll(read(path, maximumBytes: maximumBytes), source: displayName(path))
    }
}

/// `read(2)`, under a name the `InputFile.read` method does not shadow.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}

/// The version of the jemalloc this process runs, or `nil` when the `Jemalloc` trait is off.
package var linkedJemallocVersion: String? {
    #if Jemalloc
    Jemalloc.version
    #else
    nil
    #endif
}
