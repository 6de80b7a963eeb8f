import ArenaBytes
import ArenaTestSupport
import Synchronization
import Testing

/// `BytesMut(capacity:)` with no arena named: the shared arena's fast path, which finds the
/// calling thread's chunk through a C thread-local.
@Suite("The default allocation path", .timeLimit(.minutes(5)))
struct DefaultPathTests {
    /// On a thread of its own, consecutive small writers are carved one after the other from the
    /// thread's chunk: the second starts where the first ends.
    @Test func consecutiveWritersAreCarvedFromTheThreadsChunk() {
        let addresses = Mutex<[UInt]>([])
        TestThread.run {
            var views: [Bytes] = []
            for _ in 0..<4 {
                var writer = BytesMut(capacity: 64)
                writer.append(contentsOf: repeatElement(7, count: 64))
                views.append(writer.freeze())
            }
            let first = views[0].region
            #expect(views.allSatisfy { $0.region.sharesStorage(with: first) }, "one chunk")
            addresses.withLock { $0 = views.map { UInt(bitPattern: $0.region.baseAddress) } }
        }
        let carved = addresses.withLock { $0 }
        #expect(zip(carved, carved.dropFirst()).allSatisfy { $1 == $0 + 64 }, "\(carved)")
    }

    /// Threads interleave the default path with an arena of their own that also has thread-local
    /// chunks (so the shared arena's slot moves out of the front and back), hand their views to
    /// the main thread, and exit; every byte is still what its thread wrote.
    @Test func viewsFromManyThreadsOutliveThemAndKeepTheirBytes() throws {
        let other = try ArenaAllocator(.init(name: "other-thread-local", threadLocalChunks: true))
        let collected = Mutex<[(Int, Bytes)]>([])
        let threads = (0..<4).map { thread in
            TestThread {
                var mine: [(Int, Bytes)] = []
                for index in 0..<2000 {
                    let size = 1 + (index * 37 + thread) % 700
                    var writer = index % 3 == 0 ? BytesMut(capacity: size, in: other) : BytesMut(capacity: size)
                    let bytes = (0..<size).lazy.map { UInt8(truncatingIfNeeded: $0 &+ index &* 7 &+ thread) }
                    writer.append(contentsOf: bytes)
                    let view = writer.freeze()
                    if index % 5 == 0 { mine.append((thread << 16 | index, view)) }
                }
                collected.withLock { $0 += mine }
            }
        }
        for thread in threads { thread.join() }
        let views = collected.withLock { $0 }
        #expect(views.count == 4 * 400)
        for (key, view) in views {
            let (thread, index) = (key >> 16, key & 0xFFFF)
            let size = 1 + (index * 37 + thread) % 700
            let expected = (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ index &* 7 &+ thread) }
            #expect(Array(view) == expected, "thread \(thread), writer \(index)")
        }
    }
}
