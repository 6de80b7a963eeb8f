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

    /// All bytes of the file at `path`, or of standard input when `path` is `-`.
    ///
    /// - Throws: ``StatsInputError`` of kind `unreadable`, with the system's reason
    ///   ("No such file or directory", "Is a directory", …).
    package static func read(_ path: String) throws(StatsInputError) -> [UInt8] {
        let source = displayName(path)
        func failure(_ action: String) -> StatsInputError {
            let reason = String(cString: strerror(errno))
            return StatsInputError(source: source, kind: .unreadable, detail: "cannot \(action): \(reason)")
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
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress, buffer.count)
            }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read")
            }
            bytes.append(contentsOf: chunk[..<count])
        }
    }

    /// Reads and parses the statistics at `path` (a file, or `-` for standard input).
    ///
    /// - Throws: ``StatsInputError``: unreadable, empty, truncated, not JSON, text format, wrong shape.
    package static func document(at path: String) throws(StatsInputError) -> StatsDocument {
        try StatsDocument.parse(read(path), source: displayName(path))
    }
}

/// `read(2)`, under a name the `InputFile.read` method does not shadow.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
