// Child processes for tests: spawn with arguments, environment and standard input, capture
// standard output and error, wait with a timeout and kill on timeout.
//
// `posix_spawn` with standard output and error sent to files (neither can fill up and stall the
// child), rather than Foundation's `Process` and `Data(contentsOf:)`, which in Swift 6.3.1 leak
// small blocks that LeakSanitizer reports in the ASan run.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a finished child process left behind.
package struct ProcessResult: Sendable {
    /// The exit status, or 128 + the signal number when a signal ended it.
    package var status: Int32
    /// Whether a signal ended it (also after a timeout: it was killed).
    package var signaled: Bool
    /// Whether it ran past its timeout and was killed.
    package var timedOut: Bool
    /// Everything it wrote to standard output.
    package var stdout: [UInt8]
    /// Everything it wrote to standard error.
    package var stderr: [UInt8]

    /// Standard output as UTF-8 text.
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error as UTF-8 text.
    package var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// The lines of standard error, without the final newline's empty line.
    package var stderrLines: [Substring] {
        let text = stderrText
        return Array(
            text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0)
        )
    }
}

/// A child process that could not be started, waited for or read.
package struct SubprocessError: Error, CustomStringConvertible {
    /// What failed, with the system's reason.
    package var description: String

    /// An error described by `description`.
    package init(_ description: String) {
        self.description = description
    }
}

/// What a child process reads on standard input.
package enum StandardInput: Sendable {
    /// `/dev/null`.
    case null
    /// The file at a path.
    case file(String)
    /// These bytes (written to a temporary file first).
    case bytes([UInt8])
}

/// Runs `executable` (a path, or a name looked up on `PATH`) with `arguments` and waits for it.
///
/// - Parameters:
///   - environment: added to (or, with `nil` values, removed from) ours.
///   - stdin: what it reads; `/dev/null` by default.
///   - timeout: seconds before it is killed with `SIGKILL` (the result says `timedOut`).
/// - Throws: ``SubprocessError`` when it cannot be started, waited for or read.
package func runProcess(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String?] = [:],
    stdin: StandardInput = .null,
    timeout: Double = 300
) throws -> ProcessResult {
    let scratch = try TemporaryDirectory()
    defer { scratch.remove() }
    let outPath = scratch.file("stdout")
    let errPath = scratch.file("stderr")
    let inPath: String
    switch stdin {
    case .null: inPath = "/dev/null"
    case .file(let path): inPath = path
    case .bytes(let bytes): inPath = try scratch.write("stdin", bytes)
    }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

    var merged = currentEnvironment()
    for (key, value) in environment { merged[key] = value }
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }

    var pid: pid_t = 0
    let code = posix_spawnp(&pid, executable, &actions, nil, argv, envp)
    guard code == 0 else { throw SubprocessError("cannot start \(executable): \(String(cString: strerror(code)))") }
    let (status, timedOut) = try wait(for: pid, timeout: timeout)
    // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
    let signal = status & 0x7F
    let exited = signal == 0
    return ProcessResult(
        status: exited ? (status >> 8) & 0xFF : 128 + signal,
        signaled: !exited,
        timedOut: timedOut,
        stdout: try readBytes(outPath),
        stderr: try readBytes(errPath)
    )
}

/// Waits for `pid`, polling every 5 ms; kills it after `timeout` seconds.
private func wait(for pid: pid_t, timeout: Double) throws -> (status: Int32, timedOut: Bool) {
    let deadline = ContinuousClock.now + .milliseconds(Int64((timeout * 1000).rounded()))
    var status: Int32 = 0
    var timedOut = false
    while true {
        let waited = waitpid(pid, &status, timedOut ? 0 : WNOHANG)
        if waited == pid { return (status, timedOut) }
        if waited < 0 {
            guard errno == EINTR else { throw SubprocessError("waitpid failed: \(String(cString: strerror(errno)))") }
            continue
        }
        if ContinuousClock.now >= deadline {
            kill(pid, SIGKILL)
            timedOut = true
        } else {
            usleep(5_000)
        }
    }
}

/// Our environment as a dictionary.
private func currentEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var entry = environ
    while let pointer = entry.pointee {
        let text = String(cString: pointer)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        entry += 1
    }
    return result
}

/// All bytes of the file at `path`, read with `open`/`read`. (Not `Data(contentsOf:)`: in
/// Swift 6.3.1 it leaks a 4 KiB buffer for every empty file, which LeakSanitizer reports.)
package func readBytes(_ path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw SubprocessError("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count == 0 { return bytes }
        if count < 0 {
            guard errno == EINTR else {
                throw SubprocessError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            continue
        }
        bytes += chunk[..<count]
    }
}

/// Whether `path` is an executable regular file.
package func isExecutableFile(_ path: String) -> Bool {
    var info = stat()
    guard stat(path, &info) == 0 else { return false }
    return info.st_mode & S_IFMT == S_IFREG && access(path, X_OK) == 0
}
