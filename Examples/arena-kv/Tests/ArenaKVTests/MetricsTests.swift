import ArenaBytes
import ArenaKV
import MetricsTestKit
import Testing

/// The arena statistics reach a swift-metrics backend as gauges.
@Suite(.timeLimit(.minutes(5))) struct MetricsTests {
    @Test func gaugesCarryTheArenaFigures() throws {
        let state = try ServerState(configuration: ServerConfiguration(maxMemory: 4 << 20))
        let connection = try EmbeddedConnection(state: state)
        try connection.send(EmbeddedConnection.request("MSET", "a", "1", "b", String(repeating: "x", count: 20_000)))
        let metrics = TestMetrics()
        MetricsPublisher(state: state, factory: metrics).publish()

        let store = [("arena", "kv-store")]
        #expect(
            try metrics.expectGauge("arena_bytes_reserved", store).lastValue == Double(state.storeArena.bytesReserved)
        )
        #expect(try metrics.expectGauge("arena_bytes_limit", store).lastValue == Double(4 << 20))
        #expect(try metrics.expectGauge("arena_dedicated_blocks", store).lastValue == 1)
        #expect(try metrics.expectGauge("arena_cached_blocks", store).lastValue == 0)
        let statistics = state.storeArena.statistics()
        #expect(try metrics.expectGauge("arena_pinned_bytes", store).lastValue == Double(statistics.pinnedBytes))
        #expect(try metrics.expectGauge("arena_pinned_chunks", store).lastValue == Double(statistics.pinnedChunks))
        #expect(try metrics.expectGauge("arena_pinning_references", store).lastValue != nil)
        #expect(try metrics.expectGauge("kv_compactable_bytes").lastValue == Double(4 + 1 + 1))
        #expect(try metrics.expectGauge("kv_keys").lastValue == 2)
        #expect(try metrics.expectGauge("kv_live_bytes").lastValue == Double(2 + 1 + 20_000))
        #expect(try metrics.expectGauge("kv_commands_processed").lastValue == 1)
        let io = [("arena", "kv-io")]
        #expect(try metrics.expectGauge("arena_bytes_reserved", io).lastValue == Double(state.ioArena.bytesReserved))
        #if Jemalloc
        #expect(try metrics.expectGauge("arena_jemalloc_allocated_bytes", store).lastValue ?? 0 > 0)
        #endif
    }
}
