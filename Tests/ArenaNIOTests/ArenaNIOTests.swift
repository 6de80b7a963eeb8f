import ArenaBytes
import ArenaNIO
import NIOCore
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite("NIO and Foundation interop", .timeLimit(.minutes(5)))
struct ArenaNIOTests {
    @Test func bytesFromAByteBufferShareItsAddressAndKeepItAlive() {
        var view: Bytes
        var readableAddress: UnsafeRawPointer?
        do {
            var buffer = ByteBufferAllocator().buffer(capacity: 64)
            buffer.writeString("header:")
            buffer.writeString("payload bytes")
            buffer.moveReaderIndex(forwardBy: 7)
            readableAddress = buffer.withUnsafeReadableBytes { $0.baseAddress }
            view = Bytes(buffer)
            #expect(view.region.baseAddress == readableAddress)
            buffer.setString("XXXXXXX", at: 7)  // copy-on-write: the view must not change
            #expect(buffer.getString(at: 7, length: 7) == "XXXXXXX")
        }
        #expect(String(decoding: view, as: UTF8.self) == "payload bytes")
        #expect(view.region.storageKind == .foreign)
    }

    @Test func byteBufferFromBytesAndChainCopiesTheContent() {
        let bytes = Bytes("hello arena".utf8)
        var buffer = ByteBuffer(bytes)
        #expect(buffer.readString(length: buffer.readableBytes) == "hello arena")
        let chain: Chain = [Bytes("ab".utf8), Bytes("cd".utf8)]
        var joined = ByteBuffer(chain, allocator: .arena)
        #expect(joined.readString(length: 4) == "abcd")
        #expect(ByteBuffer(Bytes()).readableBytes == 0)
        #expect(ByteBuffer(Chain()).readableBytes == 0)
    }

    @Test func byteBufferFromAPartlyReadChainHoldsExactlyItsUnreadBytes() {
        // Segments of 1 to 700 bytes; after each read of the chain the buffer must hold exactly
        // what is left, across the head, a consumed tail and the segments after it.
        let source = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var chain = Chain()
        var offset = 0
        var length = 1
        while offset < source.count {
            let end = min(source.count, offset + length)
            chain.append(Bytes(source[offset..<end]))
            offset = end
            length = length * 7 % 701 + 1
        }
        var consumed = 0
        while consumed <= source.count {
            let buffer = ByteBuffer(chain)
            #expect(buffer.readableBytes == source.count - consumed)
            #expect(buffer.readableBytesView.elementsEqual(source[consumed...]))
            let step = min(source.count - consumed, 997)
            guard step > 0 else { break }
            _ = chain.readBytes(step)
            consumed += step
        }
    }

    @Test func theArenaAllocatorRoutesNIOBuffersIntoTheNIOArena() throws {
        #if Jemalloc
        let before = try #require(ArenaAllocator.nio.statistics().jemalloc)
        var buffers: [ByteBuffer] = []
        for index in 0..<100 {
            var buffer = ByteBufferAllocator.arena.buffer(capacity: 1000)
            buffer.writeInteger(UInt64(index))
            buffer.writeBytes(Array(repeating: UInt8(index), count: 3000))  // grows: reallocate
            buffers.append(buffer)
        }
        let during = try #require(ArenaAllocator.nio.statistics().jemalloc)
        #expect(during.allocated >= before.allocated + 100 * 3008, "the arena holds the buffers")
        // (Allocation counts are not compared: NIO's blocks go through jemalloc's thread cache,
        // whose counts reach the arena's statistics only when the cache flushes.)
        for (index, buffer) in buffers.enumerated() {
            #expect(buffer.getInteger(at: 0, as: UInt64.self) == UInt64(index))
            #expect(buffer.getBytes(at: 3007, length: 1) == [UInt8(index)])
        }
        buffers.removeAll()
        let after = try #require(ArenaAllocator.nio.statistics().jemalloc)
        #expect(after.allocated < during.allocated)
        #else
        var buffer = ByteBufferAllocator.arena.buffer(capacity: 10)
        buffer.writeBytes(Array(repeating: 1, count: 100))
        #expect(buffer.readableBytes == 100)
        #endif
    }

    @Test func dataFromBytesIsACopyOfItsOwn() {
        let bytes = Bytes((0..<100).map { UInt8($0) })
        let data = Data(bytes)
        data.withUnsafeBytes { #expect($0.baseAddress != bytes.region.baseAddress) }
        #expect(Array(data) == (0..<100).map { UInt8($0) })
        #expect(Data(Bytes([1, 2, 3])) == Data([1, 2, 3]))
        #expect(Data(Bytes()).isEmpty)
    }

    // MARK: - Views never write memory they don't own

    @Test func aByteBufferKeepsItsBytesWhateverIsDoneWithViewsOfIt() {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        buffer.writeString("hello, world: the buffer's own bytes")
        let original = buffer
        let expected = Array(original.readableBytesView)
        func check(_ step: String) {
            #expect(Array(original.readableBytesView) == expected, "after \(step)")
            #expect(Array(buffer.readableBytesView) == expected, "after \(step)")
        }
        let view = Bytes(buffer)
        check("a view")
        var data = Data(view)
        data[0] = 0x58
        check("mutating a Data made from the view")
        let left = view.slice(0..<5)
        let right = view.slice(5...)
        #expect(left.merged(with: right).map(Array.init) == expected)
        check("slicing and merging")
        _ = ByteBuffer(view)
        check("copying into a new ByteBuffer")
        let reclaimed = reclaims(consume view)
        #expect(!reclaimed, "the buffer's storage is never the package's to write")
        check("reclaiming the last view")
        let last = Bytes(buffer)
        buffer = ByteBuffer()  // the view's storage reference is now the buffer storage's last but `original`
        let reclaimedLast = reclaims(consume last)
        #expect(!reclaimedLast)
        #expect(Array(original.readableBytesView) == expected)
    }

    @Test func mutatingADataMadeFromAViewLeavesTheViewAlone() {
        let text = Array("longer than fourteen bytes, so not inline".utf8)
        let view = Bytes(text)
        let copy = view
        var data = Data(view)
        data[0] = 0x58
        data.append(0x21)
        #expect(Array(view) == text)
        #expect(Array(copy) == text)
        #expect(data.first == 0x58 && data.count == text.count + 1)
    }
}

/// Whether `BytesMut(reclaiming:)` makes a writer of `view` (which is gone either way).
private func reclaims(_ view: consuming Bytes) -> Bool {
    guard let writer = BytesMut(reclaiming: view) else { return false }
    _ = consume writer
    return true
}
