import ArenaBytes
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// Publishes the arenas' statistics and the server's counters as swift-metrics gauges, so any
/// backend (Prometheus, StatsD, ...) bootstrapped in `MetricsSystem` picks them up.
///
/// Gauges, each with an `arena` dimension (`kv-store`, `kv-io`) where it is about one arena:
/// `arena_bytes_reserved`, `arena_bytes_reserved_peak`, `arena_bytes_limit`,
/// `arena_limit_hits`, `arena_live_chunks`, `arena_dedicated_blocks`, `arena_cached_blocks`,
/// `arena_allocations`, `arena_pinned_chunks`, `arena_pinned_bytes`, `arena_pinning_references`,
/// and with jemalloc `arena_jemalloc_allocated_bytes`, `arena_jemalloc_active_bytes`,
/// `arena_jemalloc_resident_bytes`; for the store `kv_keys`, `kv_live_bytes`,
/// `kv_compactable_bytes`, `kv_compactions`; for the server `kv_connected_clients`,
/// `kv_commands_processed`, `kv_rejected_writes_oom`.
public final class MetricsPublisher: Sendable {
    private let state: ServerState
    private let factory: any MetricsFactory
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)

    /// A publisher of `state`'s figures to `factory`.
    public init(state: ServerState, factory: any MetricsFactory) {
        self.state = state
        self.factory = factory
    }

    /// Publishes now and then every `interval` on `loop`.
    public func start(on loop: any EventLoop, every interval: TimeAmount) {
        let repeated = loop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { [self] _ in publish() }
        task.withLockedValue { $0 = repeated }
    }

    /// Stops publishing.
    public func stop() {
        task.withLockedValue { $0?.cancel() }
    }

    /// Records every gauge once, now.
    public func publish() {
        for arena in [state.storeArena, state.ioArena] {
            record(arena.statistics())
        }
        let (keys, live, compactable, compactions) = state.store.withLockedValue {
            ($0.count, $0.liveBytes, $0.compactableBytes, $0.compactionTotals)
        }
        gauge("kv_keys", keys)
        gauge("kv_live_bytes", live)
        gauge("kv_compactable_bytes", compactable)
        gauge("kv_compactions", compactions.passes)
        gauge("kv_connected_clients", state.clients)
        gauge("kv_commands_processed", state.totalCommands)
        gauge("kv_rejected_writes_oom", state.rejectedWrites.load(ordering: .relaxed))
        gauge("kv_rejected_writes_allocation", state.failedAllocations.load(ordering: .relaxed))
    }

    private func record(_ statistics: ArenaStatistics) {
        let dimensions = [("arena", statistics.name)]
        gauge("arena_bytes_reserved", statistics.bytesReserved, dimensions)
        gauge("arena_bytes_reserved_peak", statistics.peakBytesReserved, dimensions)
        gauge("arena_bytes_limit", statistics.limit ?? 0, dimensions)
        gauge("arena_limit_hits", statistics.limitHits, dimensions)
        gauge("arena_live_chunks", statistics.liveChunks, dimensions)
        gauge("arena_dedicated_blocks", statistics.dedicatedBlocks, dimensions)
        gauge("arena_cached_blocks", statistics.cachedBlocks, dimensions)
        gauge("arena_allocations", statistics.allocations, dimensions)
        gauge("arena_pinned_chunks", statistics.pinnedChunks, dimensions)
        gauge("arena_pinned_bytes", statistics.pinnedBytes, dimensions)
        gauge("arena_pinning_references", statistics.pinningReferences, dimensions)
        if let jemalloc = statistics.jemalloc {
            gauge("arena_jemalloc_allocated_bytes", jemalloc.allocated, dimensions)
            gauge("arena_jemalloc_active_bytes", jemalloc.activeBytes, dimensions)
            gauge("arena_jemalloc_resident_bytes", jemalloc.resident, dimensions)
        }
    }

    private func gauge(_ label: String, _ value: Int, _ dimensions: [(String, String)] = []) {
        Gauge(label: label, dimensions: dimensions, factory: factory).record(value)
    }
}
