import ArenaTestSupport
import Foundation
import Testing

/// Statistics dumps printed by real jemalloc-linked processes during the test run.
///
/// A small interpreter (`python3`, else `perl`) runs with Debian's `libjemalloc.so.2` preloaded
/// and `MALLOC_CONF=stats_print:true,stats_print_opts:<opts>`; jemalloc prints its statistics
/// to standard error at exit, and that is the dump.
enum JemallocDumps {
    /// Debian's libjemalloc (package libjemalloc2, which libjemalloc-dev depends on).
    static let library: String? = {
        #if arch(x86_64)
        let architecture = "x86-64"
        let multiarch = "x86_64-linux-gnu"
        #elseif arch(arm64)
        let architecture = "AArch64"
        let multiarch = "aarch64-linux-gnu"
        #else
        let architecture = ""
        let multiarch = ""
        #endif
        // The dynamic linker's cache knows where it is on any layout.
        for ldconfig in ["/sbin/ldconfig", "/usr/sbin/ldconfig"] where isExecutableFile(ldconfig) {
            guard let listing = try? runProcess(ldconfig, ["-p"]) else { continue }
            let entries = listing.stdoutText.split(separator: "\n").filter { $0.contains("libjemalloc.so.2 ") }
            let paths = entries.sorted { a, _ in a.contains(architecture) }.compactMap { entry in
                entry.range(of: "=> ").map { String(entry[$0.upperBound...]).trimmingCharacters(in: .whitespaces) }
            }
            if let path = paths.first(where: { FileManager.default.fileExists(atPath: $0) }) { return path }
        }
        let directories = ["/usr/lib/\(multiarch)", "/lib/\(multiarch)", "/usr/lib64", "/usr/lib", "/usr/local/lib"]
        return directories.map { $0 + "/libjemalloc.so.2" }.first { FileManager.default.fileExists(atPath: $0) }
    }()

    /// A real interpreter binary: not a wrapper script (a pyenv shim would start more processes,
    /// each printing its own statistics).
    static let interpreter: (path: String, isPython: Bool)? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let searched = ["/usr/bin", "/usr/local/bin", "/bin"] + path.split(separator: ":").map(String.init)
        func binary(_ name: String) -> String? {
            searched.map { $0 + "/" + name }.first { candidate in
                guard isExecutableFile(candidate), let handle = FileHandle(forReadingAtPath: candidate) else {
                    return false
                }
                defer { try? handle.close() }
                let head = (try? handle.read(upToCount: 4)).flatMap { $0 }.map { [UInt8]($0) }
                return head == [0x7F, 0x45, 0x4C, 0x46]  // ELF, not "#!"
            }
        }
        if let python = binary("python3") { return (python, true) }
        if let perl = binary("perl") { return (perl, false) }
        return nil
    }()

    /// The allocation pattern: mostly small blocks, some medium, a few large; half kept.
    /// `threads` threads each make `count` requests (Python; Perl uses one thread), so several
    /// jemalloc arenas get used.
    static let pythonScript = """
        import random, sys, threading
        count, threads = int(sys.argv[1]), int(sys.argv[2])
        keep, lock = [], threading.Lock()
        def work(seed):
            r, mine = random.Random(seed), []
            for _ in range(count):
                k = r.random()
                size = r.randint(1, 900) if k < 0.85 else r.randint(900, 14000) if k < 0.97 else r.randint(16385, 400000)
                block = bytearray(size)
                if r.random() < 0.5:
                    mine.append(block)
            with lock:
                keep.extend(mine)
        workers = [threading.Thread(target=work, args=(seed,)) for seed in range(threads)]
        for worker in workers: worker.start()
        for worker in workers: worker.join()
        """

    static let perlScript = """
        my ($count) = @ARGV; srand(7); my @keep;
        for (1..$count) {
            my $k = rand();
            my $size = $k < 0.85 ? 1 + int(rand(900)) : $k < 0.97 ? 900 + int(rand(13100)) : 16385 + int(rand(383615));
            my $block = "x" x $size;
            push @keep, $block if rand() < 0.5;
        }
        """

    /// Runs the allocation pattern in a jemalloc-linked process and returns what jemalloc
    /// printed at exit, with `stats_print_opts` set to `options` (nil: the text format).
    static func dump(options: String? = "J", count: Int = 4000, threads: Int = 3) throws -> [UInt8] {
        let library = try #require(library, "libjemalloc.so.2 not found: run Scripts/bootstrap (libjemalloc-dev)")
        let interpreter = try #require(interpreter, "neither python3 nor perl found to produce jemalloc dumps")
        let conf = "stats_print:true" + (options.map { ",stats_print_opts:\($0)" } ?? "")
        let arguments =
            interpreter.isPython
            ? ["-c", pythonScript, String(count), String(threads)]
            : ["-e", perlScript, String(count * threads)]
        let result = try runProcess(
            interpreter.path,
            arguments,
            environment: ["LD_PRELOAD": library, "MALLOC_CONF": conf, "PYTHONMALLOC": "malloc"]
        )
        try #require(
            result.status == 0,
            "the jemalloc-linked \(interpreter.path) failed: \(result.stderrText.prefix(500))"
        )
        try #require(!result.stderr.isEmpty, "jemalloc printed no statistics (is \(library) jemalloc?)")
        return result.stderr
    }

    /// Dumps made once and shared by the tests that only read them.
    static let full = Result { try dump(options: "J") }
    static let text = Result { try dump(options: nil) }
    /// A smaller run than `full`: different figures, for documents that must differ.
    static let small = Result { try dump(options: "J", count: 300, threads: 1) }
}
