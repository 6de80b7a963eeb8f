import Foundation
import Testing

/// The memory a running server can see and take back: pinned chunks in `INFO memory`,
/// compaction through the library under random overwrites, and `MEMORY PROFILE`.
@Suite("Pinned memory, compaction and MEMORY PROFILE", .timeLimit(.minutes(5)))
struct MemoryTests {
    /// `redis-benchmark -t set -n requests -r keys -d 100 -P 16` against `server`: random
    /// overwrites of `keys` keys with 100-byte values.
    static func overwrite(_ server: KVServer, requests: Int, keys: Int) throws {
        let result = try Tool.run(
            "redis-benchmark",
            ["-p", "\(server.port)", "-t", "set", "-n", "\(requests)", "-r", "\(keys)", "-d", "100", "-P", "16", "-q"],
            timeout: 120
        )
        guard result.status == 0 else { throw HarnessError("redis-benchmark: \(result.stdout) \(result.stderr)") }
    }

    /// Without compaction, overwrites leave chunks pinned by a few entries each: INFO shows
    /// them. With it (the default), the server compacts those entries between requests and
    /// gives the chunks back; INFO shows the passes and few pinned bytes.
    @Test func pinnedChunksShowAndCompactionGivesThemBack() throws {
        let plain = try KVServer.start(["--no-compaction"])
        try Self.overwrite(plain, requests: 200_000, keys: 20_000)
        let pinned = try info(plain, "memory")
        let dataset = try #require(pinned["used_memory_dataset"].flatMap { Int($0) })
        let pinnedBytes = try #require(pinned["arena_pinned_bytes"].flatMap { Int($0) })
        #expect(dataset > 20_000 * 100)
        #expect(pinnedBytes > 3 * dataset, "\(pinned)")
        #expect(pinned["arena_pinned_chunks"].flatMap { Int($0) } == pinnedBytes / 65536)
        #expect(pinned["arena_compactions"] == "0")
        #expect(pinned["arena_pinned_chunks_by_references"]?.hasPrefix("1=") == true)

        let compacting = try KVServer.start()
        try Self.overwrite(compacting, requests: 200_000, keys: 20_000)
        // Passes start ten times a second and run a slice every millisecond between requests;
        // the benchmark ends with one under way or about to start. Wait (10 s at most, on a
        // loaded machine) until they have given the pinned chunks back.
        var fields: [String: String] = [:]
        func field(_ name: String) -> Int { fields[name].flatMap { Int($0) } ?? -1 }
        for _ in 0..<100 {
            fields = try info(compacting, "memory")
            let settled = Double(field("used_memory")) < 1.6 * Double(dataset)
            if field("arena_compactions") > 0 && settled && field("arena_pinned_bytes") < pinnedBytes / 4 { break }
            usleep(100_000)
        }
        #expect(field("arena_compactions") > 0, "\(fields)")
        #expect(field("arena_compacted_bytes") > 0)
        #expect(Double(field("used_memory")) < 1.6 * Double(dataset), "\(fields)")
        #expect((0..<pinnedBytes / 4).contains(field("arena_pinned_bytes")), "\(fields)")
    }

    /// `MEMORY PROFILE` is the store arena's `memoryProfile()` as JSON: with
    /// `--sample-interval`, the sampled sites and estimates close to the live bytes; without,
    /// empty. `MEMORY PROFILE IO` is the receive buffers' arena's.
    @Test func memoryProfileReturnsTheSampledSites() throws {
        let server = try KVServer.start(["--sample-interval", "4kb", "--no-compaction"])
        try Self.overwrite(server, requests: 40_000, keys: 20_000)
        let fields = try info(server, "memory")
        #expect(fields["arena_sample_interval"] == "4096")
        let client = try RESPClient(port: server.port)
        guard case .bulk(let json?) = try client.command("MEMORY", "PROFILE") else {
            Issue.record("MEMORY PROFILE is not a bulk string")
            return
        }
        let profile = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect(profile["arenaName"] as? String == "kv-store")
        #expect(profile["sampleInterval"] as? Int == 4096)
        let sites = try #require(profile["sites"] as? [[String: Any]])
        let sampled = sites.reduce(0) { $0 + ($1["sampledRegions"] as? Int ?? 0) }
        #expect(sampled == profile["sampledRegions"] as? Int && sampled > 100, "\(profile)")
        #expect(sites.allSatisfy { $0["image"] as? String == "arena-kv" }, "\(sites)")
        // Every region of the store is an entry: the estimate is close to their bytes.
        let estimated = sites.reduce(0) { $0 + ($1["estimatedLiveBytes"] as? Int ?? 0) }
        let count = try CommandTests.integer(server.reply("DBSIZE"))
        let entries = try #require(fields["used_memory_dataset"].flatMap { Int($0) }) + 4 * count
        #expect(abs(Double(estimated) / Double(entries) - 1) < 0.3, "estimated \(estimated) for \(entries) bytes")
        guard case .bulk(let io?) = try client.command("MEMORY", "PROFILE", "io") else {
            Issue.record("MEMORY PROFILE IO is not a bulk string")
            return
        }
        #expect(String(decoding: io, as: UTF8.self).contains("\"arenaName\":\"kv-io\""))
        expectReply(try client.command("MEMORY", "PROFILE", "disk"), .error("ERR syntax error"))

        let unsampled = try KVServer.start()
        let plain = try RESPClient(port: unsampled.port)
        expectReply(
            try plain.command("MEMORY", "PROFILE"),
            .bulk(#"{"arenaName":"kv-store","sampledRegions":0,"sites":[]}"#)
        )
    }
}
