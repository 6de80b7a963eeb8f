import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `arena-stress` executable the test target depends on, run as a child process.
enum StressTool {
    /// Where the executable is: `ARENA_STRESS_EXECUTABLE` if set, else beside the test binary
    /// (SwiftPM puts both in the build products directory; `/proc/self/exe` names the test binary).
    static let path: String? = {
        if let override = ProcessInfo.processInfo.environment["ARENA_STRESS_EXECUTABLE"] { return override }
        var directories: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        directories.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
        // Where the tests are a bundle, the products directory is its parent.
        directories += directories.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        return directories.map { $0 + "/arena-stress" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Runs `arena-stress arguments…` with no inherited jemalloc settings, and waits for it.
    ///
    /// `posix_spawn` with standard output and error sent to files (neither can fill up and stall
    /// the child), rather than Foundation's `Process` and `FileManager.contents(atPath:)`, which
    /// in Swift 6.3.1 leak small blocks that LeakSanitizer reports in the ASan run.
    static func run(_ arguments: [String]) throws -> RunResult {
        let path = try #require(path, "the arena-stress executable is not beside the test binary")
        var template = Array((NSTemporaryDirectory() + "/arena-stress-tests.XXXXXX").utf8CString)
        let directory = try #require(mkdtemp(&template).map { String(cString: $0) }, "mkdtemp failed: \(errno)")
        let outputPath = directory + "/stdout"
        let errorPath = directory + "/stderr"
        defer {
            unlink(outputPath)
            unlink(errorPath)
            rmdir(directory)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var environment = ProcessInfo.processInfo.environment
        environment["MALLOC_CONF"] = nil
        environment["LD_PRELOAD"] = nil
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, path, &actions, nil, argv, envp)
        try #require(code == 0, "cannot start \(path): \(String(cString: strerror(code)))")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            try #require(errno == EINTR, "waitpid failed: \(errno)")
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        let signal = status & 0x7F
        return RunResult(
            status: signal == 0 ? (status >> 8) & 0xFF : 128 + signal,
            stdout: try readText(outputPath),
            stderr: try readText(errorPath)
        )
    }

    /// The text of the file at `path`, read with `open`/`read`.
    private static func readText(_ path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        try #require(descriptor >= 0, "cannot open \(path): \(errno)")
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return String(decoding: bytes, as: UTF8.self) }
            if count < 0 {
                try #require(errno == EINTR, "cannot read \(path): \(errno)")
                continue
            }
            bytes += chunk[..<count]
        }
    }

    /// Runs with `--json`, expects exit status 0 and decodes the summary.
    static func summary(_ arguments: [String]) throws -> (report: Report, object: [String: Any], result: RunResult) {
        let result = try run(arguments + ["--json"])
        try #require(result.status == 0, "arena-stress \(arguments) exited with \(result.status): \(result.stderr)")
        let data = Data(result.stdout.utf8)
        let report = try JSONDecoder().decode(Report.self, from: data)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (report, object, result)
    }
}

/// What a child process did.
struct RunResult: Sendable {
    /// The exit status, or 128 + the signal number when a signal ended it.
    var status: Int32
    /// Everything it wrote to standard output.
    var stdout: String
    /// Everything it wrote to standard error.
    var stderr: String
}

/// The parts of the JSON summary the tests look at.
struct Report: Decodable, Equatable {
    /// `memory`: reserved against live bytes.
    struct Memory: Decodable, Equatable {
        var peakReservedBytes: Int
        var peakLiveBytes: Int
    }

    /// `arena`: the arena's statistics when the workers stopped.
    struct Arena: Decodable, Equatable {
        var limitHits: Int
        var peakBytesReserved: Int
        var liveChunks: Int
    }

    /// `endCheck`: the arena back at its baseline with every view dropped.
    struct EndCheck: Decodable, Equatable {
        var baselineLiveChunks: Int
        var finalLiveChunks: Int
        var baselineBytesHandedOut: Int
        var finalBytesHandedOut: Int
        var liveBytesLeft: Int
        var passed: Bool
    }

    var seed: UInt64
    var threads: Int
    var operations: [String: Int]
    var totalOperations: Int
    var outcomes: [String: Int]
    var memory: Memory
    var arena: Arena
    var endCheck: EndCheck
    var passed: Bool
}
