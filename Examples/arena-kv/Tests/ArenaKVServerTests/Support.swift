import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a child process did.
struct RunResult: Sendable {
    /// The exit status, or 128 + the signal number when a signal ended it.
    var status: Int32
    /// Everything it wrote to standard output.
    var stdout: String
    /// Everything it wrote to standard error.
    var stderr: String

    /// The lines of standard output, without line terminators (`\n` or `\r\n`) and without the
    /// empty line after a final newline.
    var stdoutLines: [String] { Self.lines(stdout) }

    /// The lines of standard error, as `stdoutLines` splits them.
    var stderrLines: [String] { Self.lines(stderr) }

    /// Split on bytes: a `String` treats `\r\n` as one `Character`, which is not `"\n"`.
    private static func lines(_ text: String) -> [String] {
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
        }
        if text.utf8.last == UInt8(ascii: "\n") { lines.removeLast() }
        return lines
    }
}

/// Something the harness itself could not do (start a process, read a file, wait in time).
struct HarnessError: Error, CustomStringConvertible {
    /// What went wrong.
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// A scratch directory for one child process's files, removed by `remove()`.
private struct ScratchDirectory {
    let path: String

    init(_ prefix: String) throws {
        var base = NSTemporaryDirectory()
        if !base.hasSuffix("/") { base += "/" }
        var template = Array((base + prefix + ".XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed: errno \(errno)") }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Deletes the files the harness puts here (`stdin`, `stdout`, `stderr`) and the directory.
    func remove() {
        for name in ["stdin", "stdout", "stderr"] { unlink(file(name)) }
        rmdir(path)
    }
}

/// Child processes: the executables built beside the test binary, and tools from `PATH`.
///
/// Children are started with `posix_spawn`, standard output and error going to files (neither can
/// fill up and stall the child), rather than Foundation's `Process`, which leaks under ASan; they
/// inherit no `MALLOC_CONF` or `LD_PRELOAD`.
enum Tool {
    /// The build products directory: where SwiftPM put `arena-kv` and `arena-stats` beside the
    /// test binary (`/proc/self/exe` names the test binary). `ARENA_KV_PRODUCTS` overrides it.
    static let productsDirectory: String? = {
        if let override = ProcessInfo.processInfo.environment["ARENA_KV_PRODUCTS"] { return override }
        var directories: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        directories.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
        // Where the tests are a bundle, the products directory is its parent.
        directories += directories.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        return directories.first { FileManager.default.isExecutableFile(atPath: $0 + "/arena-kv") }
    }()

    /// The executable `name` stands for: a path as given if it holds a `/`; `arena-kv` and
    /// `arena-stats` from the products directory; anything else from `PATH` (then `/usr/bin`).
    static func resolve(_ name: String) throws -> String {
        if name.contains("/") { return name }
        if name == "arena-kv" || name == "arena-stats" {
            guard let directory = productsDirectory else {
                throw HarnessError("the arena-kv executable is not beside the test binary")
            }
            return directory + "/" + name
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        if let found = directories.map({ $0 + "/" + name }).first(where: { access($0, X_OK) == 0 }) {
            return found
        }
        throw HarnessError("\(name) is not on PATH (\(path))")
    }

    /// Starts `executable arguments…` with standard input from `stdinPath` and standard output and
    /// error into the given files, with no inherited jemalloc settings, and `extraEnvironment`
    /// on top of the test process's environment.
    static func spawn(
        _ executable: String,
        _ arguments: [String],
        stdinPath: String,
        stdoutPath: String,
        stderrPath: String,
        extraEnvironment: [String: String] = [:]
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var environment = ProcessInfo.processInfo.environment
        environment["MALLOC_CONF"] = nil
        environment["LD_PRELOAD"] = nil
        environment.merge(extraEnvironment) { $1 }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard code == 0 else { throw HarnessError("cannot start \(executable): \(String(cString: strerror(code)))") }
        return pid
    }

    /// Waits for `pid` up to `timeout` seconds; returns its exit status (128 + the signal number
    /// when a signal ended it), or nil if it is still running then. A zero timeout only polls.
    static func wait(_ pid: pid_t, timeout: Double) throws -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var pause: UInt32 = 500
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
                let signal = status & 0x7F
                return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            }
            if result < 0 && errno != EINTR { throw HarnessError("waitpid(\(pid)) failed: errno \(errno)") }
            if Date() >= deadline { return nil }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }

    /// Runs `name arguments…` (see `resolve`) and waits for it; standard input is `stdin`'s UTF-8
    /// bytes (which may hold `\r`, `\n` and NUL), or empty. Throws if it runs longer than `timeout`
    /// seconds (it is killed then).
    static func run(
        _ name: String,
        _ arguments: [String],
        stdin: String? = nil,
        timeout: Double = 60
    ) throws -> RunResult {
        let executable = try resolve(name)
        let scratch = try ScratchDirectory("arena-kv-tool")
        defer { scratch.remove() }
        var stdinPath = "/dev/null"
        if let stdin {
            stdinPath = scratch.file("stdin")
            try writeFile(stdinPath, Array(stdin.utf8))
        }
        let pid = try spawn(
            executable,
            arguments,
            stdinPath: stdinPath,
            stdoutPath: scratch.file("stdout"),
            stderrPath: scratch.file("stderr")
        )
        guard let status = try wait(pid, timeout: timeout) else {
            kill(pid, SIGKILL)
            _ = try wait(pid, timeout: 10)
            let output = (try? readText(scratch.file("stdout"))) ?? ""
            throw HarnessError("\(name) \(arguments) ran longer than \(timeout) s; its output: \(output.suffix(2000))")
        }
        return RunResult(
            status: status,
            stdout: try readText(scratch.file("stdout")),
            stderr: try readText(scratch.file("stderr"))
        )
    }

    /// The text of the file at `path`, read with `open`/`read` (Foundation's readers leak under ASan).
    static func readText(_ path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw HarnessError("cannot open \(path): errno \(errno)") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return String(decoding: bytes, as: UTF8.self) }
            if count < 0 {
                guard errno == EINTR else { throw HarnessError("cannot read \(path): errno \(errno)") }
                continue
            }
            bytes += chunk[..<count]
        }
    }

    /// Writes `bytes` to a new file at `path`.
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw HarnessError("cannot create \(path): errno \(errno)") }
        defer { close(descriptor) }
        var rest = bytes[...]
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw HarnessError("cannot write \(path): errno \(errno)") }
            rest = rest.dropFirst(written)
        }
    }
}

/// A running `arena-kv` child process, listening on a port of its own choosing (`--port 0`).
///
/// `stop(signal:)` ends it the way an operator would and returns what it printed; if a test
/// fails before that, `deinit` kills it, so no server outlives its test.
final class KVServer {
    /// The port it printed in its `listening on 127.0.0.1:<port>` line.
    let port: Int
    /// Its process id.
    let pid: pid_t
    /// The whole `arena-kv: listening on …` line it printed at start.
    let listeningLine: String

    private let scratch: ScratchDirectory
    private var exitStatus: Int32?

    private init(port: Int, pid: pid_t, listeningLine: String, scratch: ScratchDirectory) {
        self.port = port
        self.pid = pid
        self.listeningLine = listeningLine
        self.scratch = scratch
    }

    /// Starts `arena-kv --port 0 arguments…`, with `environment` added to the test process's,
    /// and waits (up to 60 s) until it says it listens. Throws, with what it printed, if it
    /// exits first or takes longer.
    static func start(_ arguments: [String] = [], environment: [String: String] = [:]) throws -> KVServer {
        let executable = try Tool.resolve("arena-kv")
        let scratch = try ScratchDirectory("arena-kv-server")
        let stdoutPath = scratch.file("stdout")
        let stderrPath = scratch.file("stderr")
        let pid: pid_t
        do {
            pid = try Tool.spawn(
                executable,
                ["--port", "0"] + arguments,
                stdinPath: "/dev/null",
                stdoutPath: stdoutPath,
                stderrPath: stderrPath,
                extraEnvironment: environment
            )
        } catch {
            scratch.remove()
            throw error
        }
        let deadline = Date().addingTimeInterval(60)
        var problem: String
        while true {
            let output = (try? Tool.readText(stdoutPath)) ?? ""
            if let line = output.split(separator: "\n").first(where: { $0.contains("listening on 127.0.0.1:") }),
                let port = Self.port(in: String(line))
            {
                return KVServer(port: port, pid: pid, listeningLine: String(line), scratch: scratch)
            }
            if let status = try? Tool.wait(pid, timeout: 0) {
                problem = "exited with status \(status) before listening"
                break
            }
            if Date() >= deadline {
                kill(pid, SIGKILL)
                _ = try? Tool.wait(pid, timeout: 10)
                problem = "did not say it was listening within 60 s"
                break
            }
            usleep(5_000)
        }
        let output = (try? Tool.readText(stdoutPath)) ?? ""
        let errors = (try? Tool.readText(stderrPath)) ?? ""
        scratch.remove()
        throw HarnessError("arena-kv \(arguments) \(problem); stdout: \(output) stderr: \(errors)")
    }

    /// Everything the server has printed on standard output so far.
    func output() throws -> String {
        try Tool.readText(scratch.file("stdout"))
    }

    /// The port in `arena-kv: listening on 127.0.0.1:<port> (maxmemory <bytes>)`.
    private static func port(in line: String) -> Int? {
        guard let range = line.range(of: "listening on 127.0.0.1:") else { return nil }
        let digits = line[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return Int(digits).flatMap { $0 > 0 && $0 < 65536 ? $0 : nil }
    }

    /// Whether it is still running (reaps it if it has exited).
    var isRunning: Bool {
        if exitStatus != nil { return false }
        if let status = try? Tool.wait(pid, timeout: 0) {
            exitStatus = status
            return false
        }
        return true
    }

    /// Sends `signal` (unless it has already exited), waits up to `timeout` seconds for it to
    /// exit, and returns its exit status and everything it printed. If it does not exit in time
    /// it is killed and this throws.
    func stop(signal: Int32 = SIGTERM, timeout: Double = 30) throws -> RunResult {
        defer { scratch.remove() }
        if isRunning {
            kill(pid, signal)
            guard let status = try Tool.wait(pid, timeout: timeout) else {
                kill(pid, SIGKILL)
                exitStatus = try Tool.wait(pid, timeout: 10)
                throw HarnessError("arena-kv (pid \(pid)) did not exit within \(timeout) s of signal \(signal)")
            }
            exitStatus = status
        }
        return RunResult(
            status: exitStatus ?? -1,
            stdout: try Tool.readText(scratch.file("stdout")),
            stderr: try Tool.readText(scratch.file("stderr"))
        )
    }

    /// Its resident set size in bytes (`VmRSS` in `/proc/<pid>/status`).
    func rssBytes() throws -> Int {
        let status = try Tool.readText("/proc/\(pid)/status")
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first
                .flatMap({ Int($0) })
        else { throw HarnessError("no VmRSS line in /proc/\(pid)/status: \(status)") }
        return kilobytes * 1024
    }

    /// What `redis-cli -p <port> --no-raw arguments…` prints, without its final newline: `PONG`,
    /// `(integer) 1`, `(nil)`, `"quoted\x00strings"`, `1) "a"` lines for arrays, and `(error) ERR …`
    /// for error replies (redis-cli 7.0 prints those on standard output and exits 0). Throws if
    /// redis-cli fails or writes to standard error.
    func reply(_ arguments: String...) throws -> String {
        let result = try Tool.run("redis-cli", ["-p", "\(port)", "--no-raw"] + arguments)
        guard result.status == 0, result.stderr.isEmpty else {
            throw HarnessError("redis-cli \(arguments) exited with \(result.status): \(result.stdout) \(result.stderr)")
        }
        return result.stdoutLines.joined(separator: "\n")
    }

    /// Runs `redis-cli -p <port> arguments…` against it (`--no-raw` first in `arguments` makes
    /// redis-cli print `(integer) 1`, `(nil)`, `"quoted\x00strings"` and `(error) …`).
    func cli(_ arguments: String..., stdin: String? = nil) throws -> RunResult {
        try cli(arguments, stdin: stdin)
    }

    /// Runs `redis-cli -p <port> arguments…` against it, the arguments given as an array.
    func cli(_ arguments: [String], stdin: String? = nil) throws -> RunResult {
        try Tool.run("redis-cli", ["-p", "\(port)"] + arguments, stdin: stdin)
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = try? Tool.wait(pid, timeout: 10)
        }
        scratch.remove()
    }
}

/// A `redis-server` child process, the reference that differential tests compare arena-kv
/// with: no persistence, on a free port. `ReferenceRedis.isInstalled` tells whether the
/// machine has one (Debian's `redis-server` package); tests that need it are skipped otherwise.
final class ReferenceRedis {
    /// Whether `redis-server` is on `PATH` (or in `/usr/bin`).
    static let isInstalled = (try? Tool.resolve("redis-server")) != nil

    /// The port it listens on, on 127.0.0.1.
    let port: Int
    /// Its process id.
    let pid: pid_t
    private let scratch: ScratchDirectory

    /// Starts `redis-server` with no persistence on a free port and waits (up to 30 s) until it
    /// answers `PING`.
    init() throws {
        let executable = try Tool.resolve("redis-server")
        scratch = try ScratchDirectory("redis-reference")
        port = try Self.freePort()
        pid = try Tool.spawn(
            executable,
            [
                "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", scratch.path,
                "--daemonize", "no",
            ],
            stdinPath: "/dev/null",
            stdoutPath: scratch.file("stdout"),
            stderrPath: scratch.file("stderr")
        )
        let deadline = Date().addingTimeInterval(30)
        while true {
            if let client = try? RESPClient(port: port, timeout: 5), (try? client.command("PING")) == .simple("PONG") {
                return
            }
            if Date() >= deadline || (try? Tool.wait(pid, timeout: 0)) != nil {
                let output = (try? Tool.readText(scratch.file("stdout"))) ?? ""
                throw HarnessError("redis-server on port \(port) did not answer PING: \(output.suffix(1000))")
            }
            usleep(20_000)
        }
    }

    /// A port nobody listens on now: the kernel's pick for a socket bound to port 0.
    private static func freePort() throws -> Int {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw HarnessError("socket failed: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw HarnessError("cannot bind a socket to port 0: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        kill(pid, SIGKILL)
        _ = try? Tool.wait(pid, timeout: 10)
        unlink(scratch.file("dump.rdb"))
        scratch.remove()
    }
}

extension KVServer {
    /// A plain TCP connection to the server made with `connect(2)`: for a client that stays
    /// connected across a shutdown, or to watch the server close a connection.
    final class RawConnection {
        /// The connected socket.
        let descriptor: Int32

        /// Connects to 127.0.0.1:`port`.
        init(port: Int) throws {
            #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard descriptor >= 0 else { throw HarnessError("socket failed: errno \(errno)") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else {
                let code = errno
                close(descriptor)
                throw HarnessError("cannot connect to 127.0.0.1:\(port): errno \(code)")
            }
            self.descriptor = descriptor
        }

        /// Connects to this server.
        convenience init(_ server: KVServer) throws {
            try self.init(port: server.port)
        }

        /// Sends all of `bytes`.
        func send(_ bytes: [UInt8]) throws {
            var rest = bytes[...]
            while !rest.isEmpty {
                let written = rest.withUnsafeBytes { sendWithoutSignal(descriptor, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { throw HarnessError("send failed: errno \(errno)") }
                rest = rest.dropFirst(written)
            }
        }

        /// Sends the UTF-8 bytes of `text`.
        func send(_ text: String) throws {
            try send(Array(text.utf8))
        }

        /// Reads until `count` bytes have arrived, the server closes the connection, or `timeout`
        /// seconds pass; returns what arrived and whether the connection was closed (end of file
        /// or reset).
        func receive(count: Int = .max, timeout: Double = 10) throws -> (bytes: [UInt8], closed: Bool) {
            let deadline = Date().addingTimeInterval(timeout)
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while bytes.count < count {
                let remaining = deadline.timeIntervalSinceNow
                if remaining <= 0 { break }
                var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&entry, 1, Int32(min(remaining * 1000, 1000)) + 1)
                if ready < 0 && errno != EINTR { throw HarnessError("poll failed: errno \(errno)") }
                if ready <= 0 { continue }
                let received = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if received == 0 || (received < 0 && errno == ECONNRESET) { return (bytes, true) }
                if received < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    throw HarnessError("recv failed: errno \(errno)")
                }
                bytes += chunk[..<received]
            }
            return (bytes, false)
        }

        deinit {
            close(descriptor)
        }
    }
}

/// The `name:value` lines of `redis-cli -p <port> INFO [section]` (section headers and blank lines
/// left out). Throws if redis-cli fails or the reply is an error.
func info(_ server: KVServer, _ section: String? = nil) throws -> [String: String] {
    let result = try Tool.run("redis-cli", ["-p", "\(server.port)", "INFO"] + (section.map { [$0] } ?? []))
    guard result.status == 0, !result.stdout.hasPrefix("ERR") else {
        throw HarnessError("redis-cli INFO failed (\(result.status)): \(result.stdout) \(result.stderr)")
    }
    var fields: [String: String] = [:]
    for line in result.stdoutLines where !line.hasPrefix("#") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
    }
    return fields
}

/// The integer `INFO [section]` shows for `name`; throws if the field is missing or not a number.
func infoInt(_ server: KVServer, _ name: String, section: String? = nil) throws -> Int {
    let fields = try info(server, section)
    guard let text = fields[name], let value = Int(text) else {
        throw HarnessError("INFO \(section ?? "") has no integer \(name): \(fields[name] ?? "missing")")
    }
    return value
}

/// `send(2)` without `SIGPIPE` when the peer has gone (a member named `send` hides the function).
private func sendWithoutSignal(_ descriptor: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    return send(descriptor, buffer, count, Int32(MSG_NOSIGNAL))
    #else
    return send(descriptor, buffer, count, 0)
    #endif
}
