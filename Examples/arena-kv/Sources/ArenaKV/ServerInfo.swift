import ArenaBytes
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of `INFO`: `# Section` headers and `name:value` lines, as Redis writes them.
struct ServerInfo {
    let state: ServerState

    /// The sections named (`server`, `clients`, `memory`, `stats`, `keyspace`; none, `all`,
    /// `default` or `everything` for all of them), in that order.
    func text(sections names: [String]) -> String {
        let wanted = Set(names.map { $0.lowercased() })
        let all = wanted.isEmpty || !wanted.isDisjoint(with: ["all", "default", "everything"])
        var text = ""
        for (name, lines) in sections() where all || wanted.contains(name) {
            if !text.isEmpty { text += "\r\n" }
            text += "# \(name.prefix(1).uppercased() + name.dropFirst())\r\n"
            for (key, value) in lines { text += "\(key):\(value)\r\n" }
        }
        return text
    }

    private func sections() -> [(String, [(String, String)])] {
        let (keys, expiring, live, peakLive, compaction) = state.store.withLockedValue { store in
            (store.count, store.expiringCount, store.liveBytes, store.peakLiveBytes, store.compactionTotals)
        }
        let arena = state.storeArena.statistics()
        let maxMemory = state.configuration.maxMemory
        let ratio = peakLive > 0 ? Double(arena.peakBytesReserved) / Double(peakLive) : 0
        var memory: [(String, String)] = [
            ("used_memory", "\(arena.bytesReserved)"),
            ("used_memory_human", humanBytes(arena.bytesReserved)),
            ("used_memory_peak", "\(arena.peakBytesReserved)"),
            ("used_memory_peak_human", humanBytes(arena.peakBytesReserved)),
            ("used_memory_dataset", "\(live)"),
            ("used_memory_rss", "\(residentBytes())"),
            ("used_memory_rss_human", humanBytes(residentBytes())),
            ("maxmemory", "\(maxMemory)"),
            ("maxmemory_human", humanBytes(maxMemory)),
            ("maxmemory_policy", "noeviction"),
            ("mem_allocator", allocatorName),
            ("arena_live_chunks", "\(arena.liveChunks)"),
            ("arena_cached_chunks", "\(arena.cachedChunks)"),
            ("arena_dedicated_blocks", "\(arena.dedicatedBlocks)"),
            ("arena_limit_hits", "\(arena.limitHits)"),
            ("arena_peak_live_bytes", "\(peakLive)"),
            ("arena_peak_reserved_to_live", String(format2: ratio)),
            ("arena_compactions", "\(compaction.passes)"),
            ("arena_compacted_bytes", "\(compaction.movedBytes)"),
            ("arena_compaction_freed_bytes", "\(compaction.freedBytes)"),
            ("arena_compaction_longest_step_us", "\(state.longestCompaction.load(ordering: .relaxed))"),
            ("io_arena_reserved", "\(state.ioArena.bytesReserved)"),
        ]
        if let jemalloc = arena.jemalloc {
            memory += [
                ("jemalloc_arena_index", "\(jemalloc.arenaIndex)"),
                ("jemalloc_arena_allocated", "\(jemalloc.allocated)"),
                ("jemalloc_arena_active", "\(jemalloc.activeBytes)"),
                ("jemalloc_arena_resident", "\(jemalloc.resident)"),
                ("jemalloc_arena_dirty", "\(jemalloc.dirtyBytes)"),
            ]
        }
        return [
            (
                "server",
                [
                    ("redis_version", "7.0.0"),
                    ("arena_kv_version", "1.0"),
                    ("process_id", "\(getpid())"),
                    ("tcp_port", "\(state.listeningPort.load(ordering: .relaxed))"),
                    ("uptime_in_seconds", "\((monotonicMilliseconds() - state.startedAt) / 1000)"),
                    ("io_threads_active", "\(state.configuration.threads)"),
                ]
            ),
            ("clients", [("connected_clients", "\(state.clients)")]),
            ("memory", memory),
            (
                "stats",
                [
                    ("total_connections_received", "\(state.connectionsReceived.load(ordering: .relaxed))"),
                    ("total_commands_processed", "\(state.totalCommands)"),
                    ("rejected_writes_oom", "\(state.rejectedWrites.load(ordering: .relaxed))"),
                    ("protocol_errors", "\(state.protocolErrors.load(ordering: .relaxed))"),
                ]
            ),
            ("keyspace", keys > 0 ? [("db0", "keys=\(keys),expires=\(expiring),avg_ttl=0")] : []),
        ]
    }

    private var allocatorName: String {
        #if Jemalloc
        "jemalloc-" + ((try? Jemalloc.readString("version")).map { String($0.prefix { $0 != "-" }) } ?? "?")
        #else
        "libc"
        #endif
    }
}

/// The process's resident set size in bytes (`/proc/self/statm`), or 0 where unavailable.
func residentBytes() -> Int {
    let descriptor = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return 0 }
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
    guard count > 0 else { return 0 }
    let fields = buffer[..<count].split(separator: UInt8(ascii: " "))
    guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// `bytes` as Redis shows sizes: `1.50M`, `512.00K`, `10B`.
func humanBytes(_ bytes: Int) -> String {
    let units: [(Int, String)] = [(1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")]
    for (size, unit) in units where bytes >= size {
        return String(format2: Double(bytes) / Double(size)) + unit
    }
    return "\(bytes)B"
}

extension String {
    /// `value` with two decimals, without Foundation.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
