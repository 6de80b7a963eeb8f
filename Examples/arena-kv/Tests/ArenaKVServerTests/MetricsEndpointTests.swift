import Foundation
import Testing

/// `--metrics-port`: the arena gauges published through swift-metrics, scraped over HTTP in
/// Prometheus's text format.
@Suite(.timeLimit(.minutes(5))) struct MetricsEndpointTests {
    /// `GET path` on `port` with `Connection: close`; the whole response, which must end with
    /// the server closing the connection.
    func get(_ path: String, port: Int) throws -> String {
        let connection = try KVServer.RawConnection(port: port)
        try connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        var response: [UInt8] = []
        while true {
            let (bytes, closed) = try connection.receive(timeout: 10)
            response += bytes
            if closed { break }
            try #require(!bytes.isEmpty, "the endpoint neither answered nor closed within 10 s")
        }
        return String(decoding: response, as: UTF8.self)
    }

    @Test func prometheusScrapesTheArenaGauges() throws {
        let server = try KVServer.start(["--metrics-port", "0", "--metrics-interval", "1", "--maxmemory", "8mb"])
        let line = try #require(
            try server.output().split(separator: "\n").first { $0.contains("metrics on http://127.0.0.1:") }
        )
        let port = try #require(Int(line.split(separator: ":").last?.prefix { $0.isNumber } ?? ""))
        #expect(try server.reply("MSET", "a", "1", "b", "22") == "OK")
        // The gauges are recorded once a second: wait for a scrape that shows both keys.
        var text = ""
        for _ in 0..<50 {
            text = try get("/metrics", port: port)
            if text.contains("\nkv_keys 2") { break }
            usleep(100_000)
        }
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(text.contains("\nkv_keys 2"))
        #expect(text.contains("arena_bytes_limit{arena=\"kv-store\"} 8388608"))
        #expect(text.contains("arena_bytes_reserved{arena=\"kv-store\"} 65536"))
        #expect(text.contains("arena_bytes_reserved{arena=\"kv-io\"}"))
        #expect(text.contains("arena_pinned_bytes{arena=\"kv-store\"} 0"))
        #expect(text.contains("arena_pinned_chunks{arena=\"kv-io\"}"))
        #expect(text.contains("# TYPE kv_commands_processed gauge"))
        #expect(try get("/elsewhere", port: port).hasPrefix("HTTP/1.1 404"))
        let stopped = try server.stop()
        #expect(stopped.status == 0)
    }
}
