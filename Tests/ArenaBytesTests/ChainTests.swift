import ArenaBytes
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Chain", .timeLimit(.minutes(5)))
struct ChainTests {
    let arena = try! ArenaAllocator(.init(name: "chain"))

    /// One 4 KiB view cut into 16 adjacent pieces.
    func adjacentPieces() -> (whole: Bytes, pieces: [Bytes]) {
        let whole = Bytes((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) }, in: arena)
        return (whole, (0..<16).map { whole.slice($0 * 256..<($0 + 1) * 256) })
    }

    /// Frames read with `readContiguousBytes`: views of the segment (no copy, no allocation, not
    /// even a heap byte) while they lie in one segment, one exact-size copy when they straddle.
    @Test func framesInOneSegmentAreViewsAndAFrameAcrossSegmentsIsOneExactCopy() {
        let source = Bytes((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 3) }, in: arena)
        let first = source.slice(0..<100)
        let second = source.slice(200..<300)  // not adjacent: a gap of 100 bytes
        let chain = first.chain(second)
        var reader = chain
        var frames: [Bytes] = []
        frames.reserveCapacity(8)
        let inHead = allocations(in: arena) {
            for _ in 0..<3 { frames.append(reader.readContiguousBytes(30, in: arena)!) }
        }
        #expect(inHead.regions == 0 && inHead.threadBytes == 0, "\(inHead)")
        #expect(frames.map { $0.region.baseAddress } == (0..<3).map { first.region.baseAddress + 30 * $0 })
        let handedOut = arena.statistics().bytesHandedOut
        let straddling = allocations(in: arena) { frames.append(reader.readContiguousBytes(30, in: arena)!) }
        #expect(straddling.regions == 1, "one copy")
        #expect(arena.statistics().bytesHandedOut - handedOut == 30, "of exactly the frame's size")
        #expect(Array(frames[3]) == Array(source[90..<100]) + Array(source[200..<220]))
        let rest = allocations(in: arena) { frames.append(reader.readContiguousBytes(80, in: arena)!) }
        #expect(rest.regions == 0 && frames[4].region.baseAddress == second.region.baseAddress + 20)
        #expect(reader.isEmpty && reader.readContiguousBytes(1, in: arena) == nil)
        #expect(Array(chain) == Array(first) + Array(second), "reading a copy leaves the original")
        var short = chain
        #expect(short.readContiguousBytes(201, in: arena) == nil && short.readContiguousBytes(-1) == nil)
        #expect(short.count == 200, "nothing consumed")
    }

    @Test func readsIntegersAndBytesAcrossSegmentBoundaries() {
        var chain: Chain = [[0x01, 0x02], [], [0x03], [0x04, 0x05, 0x06]]
        #expect(chain.segments.count == 3, "empty segments are dropped")
        #expect(chain.count == 6)
        #expect(chain.getInteger(at: 1, as: UInt32.self) == 0x0203_0405)
        #expect(chain.readInteger(as: UInt32.self) == 0x0102_0304)
        #expect(chain.count == 2)
        #expect(chain.readInteger(as: UInt32.self) == nil, "short: nil, nothing consumed")
        #expect(chain.count == 2)
        #expect(chain.readInteger(byteOrder: .little, as: UInt16.self) == 0x0605)
        #expect(chain.isEmpty)
        var bytes: Chain = [[1, 2, 3], [4, 5], [6]]
        #expect(bytes.readBytes(7) == nil && bytes.readBytes(-1) == nil && bytes.count == 6)
        let front = bytes.readBytes(4)
        #expect(front.map { Array($0) } == [1, 2, 3, 4])
        #expect(front?.segments.count == 2)
        #expect(Array(bytes) == [5, 6])
    }

    @Test func readBytesSharesMemory() {
        let (whole, pieces) = adjacentPieces()
        var chain = Chain(pieces)
        let taken = chain.readBytes(300)!
        #expect(taken.segments[0].region.baseAddress == whole.region.baseAddress)
        #expect(taken.segments[1].region.baseAddress == whole.region.baseAddress + 256)
        #expect(chain.segments[0].region.baseAddress == whole.region.baseAddress + 300)
    }

    @Test func coalescingAdjacentViewsIsZeroCopyAndFlatteningCopiesOnlyWhenNeeded() {
        let (whole, pieces) = adjacentPieces()
        var chain = Chain()
        chain.reserveCapacity(segments: 16)
        let appending = AllocationCounter(arena)
        for piece in pieces { chain.append(piece) }
        let appended = appending.finish()
        let coalescing = AllocationCounter(arena)
        let joined = chain.coalesced()
        let coalesced = coalescing.finish()
        let flattening = AllocationCounter(arena)
        let flat = chain.flattened(in: arena)
        let flattened = flattening.finish()
        #expect(appended.regions == 0 && coalesced.regions == 0 && flattened.regions == 0, "everything was adjacent")
        // Byte counts hold for optimized code (Scripts/test runs the suite with -c release);
        // unoptimized loops over arrays of views allocate for generic code.
        #if Jemalloc && !DEBUG
        #expect(appended.threadBytes == 0, "appending into reserved segment storage")
        let segmentArray = UInt64(16 * MemoryLayout<Bytes>.stride + 64)
        #expect(coalesced.threadBytes <= segmentArray, "only the coalesced chain's segment array")
        #expect(flattened.threadBytes <= segmentArray, "only the coalesced chain's segment array")
        #endif
        #expect(joined.segments.count == 1)
        #expect(joined.segments[0].region.baseAddress == whole.region.baseAddress)
        #expect(flat.region.baseAddress == whole.region.baseAddress)
        #expect(flat == whole)

        let gap = Chain([pieces[0], pieces[2], pieces[3]])
        #expect(gap.coalesced().segments.count == 2)
        let copied = gap.flattened(in: arena)
        #expect(copied.region.baseAddress != whole.region.baseAddress)
        #expect(Array(copied) == Array(pieces[0]) + Array(pieces[2]) + Array(pieces[3]))
        let other = Bytes([1, 2, 3], in: try! ArenaAllocator())
        #expect(Chain([pieces[15], other]).coalesced().segments.count == 2, "different storage never merges")
    }

    @Test func equalityIsByContent() {
        let a: Chain = [[1, 2, 3], [4]]
        let b: Chain = [[1], [2, 3, 4]]
        let c: Chain = [[1, 2, 3, 5]]
        #expect(a == b)
        #expect(a != c)
        #expect(Chain() == Chain([Bytes()]))
        #expect(Bytes([1, 2]).chain([3]) == [[1, 2, 3]])
        #expect(a.description == "Chain(4 bytes in 2 segments: [3, 1])")
    }

    @Test func writevWritesEverySegmentInOrder() throws {
        let (_, pieces) = adjacentPieces()
        let chain = Chain(pieces.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) + [Bytes("tail".utf8)])
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        defer { close(descriptors[0]) }
        let written = chain.withIOVectors { vectors in
            #expect(vectors.count == 9)
            return writev(descriptors[1], vectors.baseAddress, Int32(vectors.count))
        }
        close(descriptors[1])
        #expect(written == chain.count)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = read(descriptors[0], &buffer, buffer.count)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        #expect(received == Array(chain))
    }

    /// One vector per unread segment, at the segment's own address: after partial reads (a
    /// head cut short, consumed tail entries), for no segment at all, and for more segments
    /// than fit on the stack.
    @Test func ioVectorsPointAtTheUnreadSegments() {
        #expect(Chain().withIOVectors { $0.count } == 0)
        for segmentCount in [1, 3, 2000] {
            var chain = Chain(
                (0..<segmentCount).map { Bytes(Array(repeating: UInt8(truncatingIfNeeded: $0), count: 10)) }
            )
            _ = chain.readBytes(15)  // the first segment gone, the second cut short
            let segments = chain.segments
            let vectors = chain.withIOVectors { vectors in
                vectors.map { (UInt(bitPattern: $0.iov_base), $0.iov_len) }
            }
            #expect(vectors.count == segments.count)
            #expect(vectors.map(\.1).reduce(0, +) == chain.count)
            for (vector, segment) in zip(vectors, segments) {
                #expect(vector.0 == UInt(bitPattern: segment.region.baseAddress) && vector.1 == segment.count)
            }
        }
    }
}
