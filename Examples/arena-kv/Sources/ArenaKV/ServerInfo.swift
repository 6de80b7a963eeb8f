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

    /// The sections named (`server`, `clients`, `memory`, `stats`, `replication`, `cpu`,
    /// `commandstats`, `errorstats`, `keyspace`; none, `all`, `default` or `everything` for
    /// all of them), in that order. Redis leaves `commandstats` out of the default set; so does
    /// this.
    func text(sections names: [String]) -> String {
        let wanted = Set(names.map { $0.lowercased() })
        let all = !wanted.isDisjoint(with: ["all", "everything"])
        let standard = wanted.isEmpty || wanted.contains("default")
        var text = ""
        for (name, lines) in sections()
        where all || wanted.contains(name) || (standard && name != "commandstats") {
            if !text.isEmpty { text += "\r\n" }
            text += "# \(name.prefix(1).uppercased() + name.dropFirst())\r\n"
            for (key, value) in lines { text += "\(key):\(value)\r\n" }
        }
        return text
    }

    private func sections() -> [(String, [(String, String)])] {
        let (keys, expiring, live, peakLive, compaction, compactable) = state.store.withLockedValue { store in
            (
                store.count, store.expiringCount, store.liveBytes, store.peakLiveBytes, store.compactionTotals,
                store.compactableBytes
            )
        }
        let arena = state.storeArena.statistics()
        let io = state.ioArena.statistics()
        let pinnedBy = arena.pinningReferenceHistogram
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
            ("arena_cached_blocks", "\(arena.cachedBlocks)"),
            ("arena_pinned_chunks", "\(arena.pinnedChunks)"),
            ("arena_pinned_bytes", "\(arena.pinnedBytes)"),
            ("arena_pinned_bytes_human", humanBytes(arena.pinnedBytes)),
            ("arena_pinning_references", "\(arena.pinningReferences)"),
            (
                "arena_pinned_chunks_by_references",
                "1=\(pinnedBy.one),2-4=\(pinnedBy.twoToFour),5-16=\(pinnedBy.fiveToSixteen),>16=\(pinnedBy.moreThanSixteen)"
            ),
            ("arena_compactable_bytes", "\(compactable)"),
            ("arena_limit_hits", "\(arena.limitHits)"),
            ("arena_peak_live_bytes", "\(peakLive)"),
            ("arena_peak_reserved_to_live", String(format2: ratio)),
            ("arena_compactions", "\(compaction.passes)"),
            ("arena_compacted_bytes", "\(compaction.movedBytes)"),
            ("arena_compaction_freed_bytes", "\(compaction.freedBytes)"),
            ("arena_compaction_longest_step_us", "\(state.longestCompaction.load(ordering: .relaxed))"),
            ("arena_compaction_copies_refused", "\(compaction.copiesRefused)"),
            ("io_arena_reserved", "\(io.bytesReserved)"),
            ("io_arena_pinned_bytes", "\(io.pinnedBytes)"),
            ("arena_sample_interval", "\(state.storeArena.configuration.sampleInterval ?? 0)"),
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
        var stats: [(String, String)] = [
            ("total_connections_received", "\(state.connectionsReceived.load(ordering: .relaxed))"),
            ("total_commands_processed", "\(state.totalCommands)"),
            ("rejected_writes_oom", "\(state.rejectedWrites.load(ordering: .relaxed))"),
            ("rejected_writes_allocation", "\(state.failedAllocations.load(ordering: .relaxed))"),
            ("protocol_errors", "\(state.protocolErrors.load(ordering: .relaxed))"),
        ]
        if let faults = state.configuration.faults, let (store, io) = state.faultCounts {
            // For tests only (ARENA_KV_FAIL_RATE): the backend allocations asked for and refused.
            stats += [
                (
                    "fault_injection_store",
                    "rate=\(faults.storeRate),attempts=\(store.attempts),refused=\(store.refused)"
                ),
                ("fault_injection_io", "rate=\(faults.ioRate),attempts=\(io.attempts),refused=\(io.refused)"),
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
            ("stats", stats),
            (
                "replication",
                [
                    ("role", "master"), ("connected_slaves", "0"), ("master_failover_state", "no-failover"),
                    ("master_replid", String(repeating: "0", count: 40)),
                    ("master_replid2", String(repeating: "0", count: 40)), ("master_repl_offset", "0"),
                    ("second_repl_offset", "-1"), ("repl_backlog_active", "0"), ("repl_backlog_size", "0"),
                    ("repl_backlog_first_byte_offset", "0"), ("repl_backlog_histlen", "0"),
                ]
            ),
            ("cpu", cpu()),
            ("commandstats", commandStatistics()),
            ("errorstats", errorStatistics()),
            ("keyspace", keys > 0 ? [("db0", "keys=\(keys),expires=\(expiring),avg_ttl=0")] : []),
        ]
    }

    /// `used_cpu_sys` and the like, from `getrusage`, in seconds with six decimals.
    private func cpu() -> [(String, String)] {
        func seconds(_ time: timeval) -> String {
            let micros = Int(time.tv_usec)
            let fraction = String(micros)
            return "\(time.tv_sec).\(String(repeating: "0", count: max(0, 6 - fraction.count)))\(fraction)"
        }
        var own = rusage()
        var children = rusage()
        getrusage(RUSAGE_SELF.rawValue, &own)
        getrusage(RUSAGE_CHILDREN.rawValue, &children)
        return [
            ("used_cpu_sys", seconds(own.ru_stime)), ("used_cpu_user", seconds(own.ru_utime)),
            ("used_cpu_sys_children", seconds(children.ru_stime)),
            ("used_cpu_user_children", seconds(children.ru_utime)),
        ]
    }

    /// `cmdstat_get:calls=2,usec=5,usec_per_call=2.50,rejected_calls=0,failed_calls=0`, by name.
    private func commandStatistics() -> [(String, String)] {
        let statistics = state.commandStatistics.withLock { $0 }
        return statistics.sorted { $0.key < $1.key }.map { name, counts in
            let perCall = counts.calls > 0 ? Double(counts.microseconds) / Double(counts.calls) : 0
            return (
                "cmdstat_\(name)",
                "calls=\(counts.calls),usec=\(counts.microseconds),usec_per_call=\(String(format2: perCall)),"
                    + "rejected_calls=\(counts.rejected),failed_calls=\(counts.failed)"
            )
        }
    }

    /// `errorstat_ERR:count=3`, by the error's first word.
    private func errorStatistics() -> [(String, String)] {
        state.errorStatistics.withLock { $0 }.sorted { $0.key < $1.key }.map {
            ("errorstat_\($0.key)", "count=\($0.value)")
        }
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

/// What `arena-kv --version` prints: its version, the Redis version it answers as, and the
/// jemalloc it runs on.
public enum ArenaKVVersion {
    /// `arena-kv 1.0 (answers as redis 7.0.0; jemalloc 5.3.0-…)`.
    public static var description: String {
        #if Jemalloc
        let allocator = "jemalloc " + ((try? Jemalloc.readString("version")) ?? "?")
        #else
        let allocator = "libc malloc: built without the Jemalloc trait"
        #endif
        return "arena-kv 1.0 (answers as redis 7.0.0; \(allocator))"
    }
}
