import Arena
import ArenaBytes
import ArenaTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The README's read loop, end to end: length-prefixed frames written into a pipe in odd-sized
/// pieces, read with `read(2)` straight into a writer's spare capacity, cut into frames without
/// copying, and the buffer reused once the frames are gone.
@Suite("The read loop", .timeLimit(.minutes(5)))
struct ReadLoopTests {
    @Test func framesComeOutWholeAndTheBufferIsReused() throws {
        let arena = try ArenaAllocator(.init(name: "read-loop"))
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        let (readEnd, writeEnd) = (descriptors[0], descriptors[1])

        // 500 frames of 0-999 bytes, each a UInt32 length then bytes derived from its index,
        // and every hundredth one of 40,000 bytes: larger than the buffer's 16 KiB, so the loop
        // must grow it rather than read into no room (which `read` answers like end of file).
        var random = SplitMix64(seed: 99)
        var wire: [UInt8] = []
        var expected: [[UInt8]] = []
        for index in 0..<500 {
            let size = index % 100 == 50 ? 40_000 : Int.random(in: 0..<1000, using: &random)
            let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ index) }
            wire += withUnsafeBytes(of: UInt32(body.count).bigEndian) { Array($0) } + body
            expected.append(body)
        }
        let writer = TestThread {
            var offset = 0
            var pieces = SplitMix64(seed: 7)
            while offset < wire.count {
                let length = min(wire.count - offset, Int.random(in: 1...3000, using: &pieces))
                let written = wire[offset..<offset + length].withUnsafeBytes {
                    write(writeEnd, $0.baseAddress, $0.count)
                }
                precondition(written > 0)
                offset += written
            }
            close(writeEnd)
        }

        var received: [[UInt8]] = []
        var buffer = try BytesMut.make(capacity: 16 << 10, in: arena)
        let regionsBefore = arena.statistics().allocations
        while true {
            try buffer.tryReserveCapacity(buffer.count + (16 << 10))
            let n = buffer.withUnsafeMutableUninitializedCapacity { spare in
                max(0, read(readEnd, spare.baseAddress, spare.count))
            }
            if n == 0 { break }
            while let length = buffer.getInteger(at: 0, as: UInt32.self), buffer.count >= 4 + Int(length) {
                let address = buffer.withUnsafeBytes { $0.baseAddress! }
                var frame = buffer.split(to: 4 + Int(length)).freeze()
                #expect(frame.region.baseAddress == address, "frames are cut, not copied")
                _ = frame.readInteger(as: UInt32.self)
                received.append(Array(frame))
            }
        }
        writer.join()
        close(readEnd)
        #expect(received == expected)
        #expect(buffer.count == 0)
        // A buffer whose frames are gone rewinds instead of allocating: the whole stream (about
        // 450 KB) went through far fewer regions than reads.
        #expect(arena.statistics().allocations - regionsBefore < 20)
    }
}
