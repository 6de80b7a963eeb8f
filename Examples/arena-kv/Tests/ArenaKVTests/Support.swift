import ArenaBytes
import ArenaKV
import NIOCore
import NIOEmbedded
import Synchronization

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now = Atomic<Int64>(1_000_000)

    /// The time, in milliseconds.
    func read() -> Int64 { now.load(ordering: .relaxed) }

    /// Moves the time forward.
    func advance(milliseconds: Int64) { now.add(milliseconds, ordering: .relaxed) }
}

/// A store on an arena of its own, with an optional limit, a manual clock and the arena's
/// default chunk size (64 KiB) unless given.
func makeStore(limit: Int? = nil, clock: ManualClock = ManualClock(), chunkSize: Int = 64 << 10) throws -> TestStore {
    let arena = try ArenaAllocator(.init(name: "kv-test", chunkSize: chunkSize, limit: limit))
    return TestStore(Store(arena: arena, clock: { clock.read() }))
}

/// A `Store` in a class, so `#expect` can call its mutating methods (reading may expire keys).
final class TestStore {
    var store: Store

    init(_ store: Store) { self.store = store }

    var arena: ArenaAllocator { store.arena }
    var count: Int { store.count }
    var expiringCount: Int { store.expiringCount }
    var liveBytes: Int { store.liveBytes }

    func value(for key: Bytes) -> Bytes? { store.value(for: key) }
    func contains(_ key: Bytes) -> Bool { store.contains(key) }
    func timeToLive(of key: Bytes) -> TimeToLive { store.timeToLive(of: key) }
    func remove(_ key: Bytes) -> Bool { store.remove(key) }
    func removeExpired() -> Int { store.removeExpired() }
    func compact() -> CompactionReport { store.compact() }
    func startCompactionIfWorthIt() -> Bool { store.startCompactionIfWorthIt() }
    func compactionStep(slots: Int) -> CompactionReport? { store.compactionStep(slots: slots) }
    func increment(_ key: Bytes, by amount: Int = 1) throws(IncrementError) -> Int {
        try store.increment(key, by: amount)
    }
    func append(_ suffix: Bytes, to key: Bytes) throws(ArenaError) -> Int { try store.append(suffix, to: key) }
    func startCompaction() -> Bool { store.startCompaction() }
    func setAll(_ pairs: ArraySlice<Bytes>) throws(ArenaError) { try store.setAll(pairs) }
    func removeAll() { store.removeAll() }
    func keys(where isIncluded: (UnsafeRawBufferPointer) -> Bool = { _ in true }) -> [Bytes] {
        store.keys(where: isIncluded)
    }
    func scan(
        from cursor: UInt64,
        count: Int,
        where isIncluded: (UnsafeRawBufferPointer) -> Bool = { _ in true }
    ) -> (cursor: UInt64, keys: [Bytes]) {
        store.scan(from: cursor, count: count, where: isIncluded)
    }

    func set(
        _ key: Bytes,
        to value: Bytes,
        condition: SetCondition = .always,
        expiry: SetExpiry = .none
    ) throws(ArenaError) -> (stored: Bool, previous: Bytes?) {
        try store.set(key, to: value, condition: condition, expiry: expiry)
    }
}

extension Bytes {
    /// The UTF-8 bytes of `text`.
    init(_ text: String) { self.init(Array(text.utf8)) }

    /// The bytes as text.
    var string: String { String(decoding: self, as: UTF8.self) }
}

/// A connection handler on an `EmbeddedChannel`: requests in, replies out, no sockets.
final class EmbeddedConnection {
    let channel: EmbeddedChannel
    let state: ServerState

    init(state: ServerState) throws {
        self.state = state
        channel = EmbeddedChannel()
        try ConnectionHandler.addHandlers(to: channel.pipeline.syncOperations, state: state)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    convenience init(_ configuration: ServerConfiguration = ServerConfiguration(maxMemory: 0)) throws {
        try self.init(state: ServerState(configuration: configuration))
    }

    /// Tears the pipeline down: an `EmbeddedChannel` and its pipeline refer to each other until
    /// `finish`, and LeakSanitizer reports what they hold.
    deinit {
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    /// Sends `request` as one read and returns every reply written since.
    @discardableResult
    func send(_ request: String) throws -> String {
        try send(Array(request.utf8))
    }

    /// Sends `bytes` as one read and returns every reply written since.
    @discardableResult
    func send(_ bytes: [UInt8]) throws -> String {
        try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        return try replies()
    }

    /// The replies written and not read yet.
    func replies() throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    /// A multibulk request of `arguments`.
    static func request(_ arguments: String...) -> String {
        "*\(arguments.count)\r\n" + arguments.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }
}
