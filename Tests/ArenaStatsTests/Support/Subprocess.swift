import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a finished child process left behind.
struct ProcessResult {
    /// The exit status, or 128 + the signal number when a signal ended it.
    var status: Int32
    /// Whether a signal ended it.
    var signaled: Bool
    /// Everything it wrote to standard output.
    var stdout: [UInt8]
    /// Everything it wrote to standard error.
    var stderr: [UInt8]

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// The lines of standard error, without the final newline's empty line.
    var stderrLines: [Substring] {
        stderrText.split(separator: "\n", omittingEmptySubsequences: false).dropLast(stderrText.hasSuffix("\n") ? 1 : 0)
            .map { $0 }
    }
}

struct SubprocessError: Error, CustomStringConvertible {
    var description: String
}

/// A directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var base = NSTemporaryDirectory()
        if !base.hasSuffix("/") { base += "/" }
        var template = Array((base + "arena-stats-tests.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw SubprocessError(description: "mkdtemp failed: \(errno)") }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `executable` with `arguments` and waits for it. Its standard output and error go to
/// files (so neither pipe can fill up and stall it); standard input comes from `stdin` or
/// `/dev/null`. `environment` is added to (or, with `nil` values, removed from) ours.
func runProcess(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String?] = [:],
    stdin: String? = nil
) throws -> ProcessResult {
    let scratch = try TemporaryDirectory()
    defer { scratch.remove() }
    let outPath = scratch.file("stdout")
    let errPath = scratch.file("stderr")

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

    var merged = ProcessInfo.processInfo.environment
    for (key, value) in environment { merged[key] = value }
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }

    var pid: pid_t = 0
    let code = posix_spawn(&pid, executable, &actions, nil, argv, envp)
    guard code == 0 else {
        throw SubprocessError(description: "cannot start \(executable): \(String(cString: strerror(code)))")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw SubprocessError(description: "waitpid failed: \(errno)") }
    }
    // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
    let signal = status & 0x7F
    let exited = signal == 0
    return ProcessResult(
        status: exited ? (status >> 8) & 0xFF : 128 + signal,
        signaled: !exited,
        stdout: try readBytes(outPath),
        stderr: try readBytes(errPath)
    )
}

/// All bytes of the file at `path`. (Not `Data(contentsOf:)`: in Swift 6.3.1 it leaks a 4 KiB
/// buffer for every empty file, which LeakSanitizer reports.)
func readBytes(_ path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw SubprocessError(description: "cannot open \(path): \(errno)") }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count == 0 { return bytes }
        if count < 0 {
            guard errno == EINTR else { throw SubprocessError(description: "cannot read \(path): \(errno)") }
            continue
        }
        bytes += chunk[..<count]
    }
}

/// Whether `path` is an executable regular file.
func isExecutableFile(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        && FileManager.default.isExecutableFile(atPath: path)
}
