import ArenaBytes
import Testing

@Suite("Bytes and BytesMut", .timeLimit(.minutes(5)))
struct BytesTests {
    @Test func integersRoundTripInBothByteOrders() {
        var writer = BytesMut()
        writer.writeInteger(UInt8(0xAB))
        writer.writeInteger(Int16(-2), byteOrder: .little)
        writer.writeInteger(UInt32(0x0102_0304))
        writer.writeInteger(Int64.min, byteOrder: .little)
        writer.writeInteger(UInt64(0x0A0B_0C0D_0E0F_1011), byteOrder: .big)
        writer.writeInteger(Int(42))
        var bytes = writer.freeze()
        #expect(bytes.getInteger(at: 3, as: UInt32.self) == 0x0102_0304)
        #expect(Array(bytes[3..<7]) == [1, 2, 3, 4])
        #expect(bytes.readInteger(as: UInt8.self) == 0xAB)
        #expect(bytes.readInteger(byteOrder: .little, as: Int16.self) == -2)
        #expect(bytes.readInteger(as: UInt32.self) == 0x0102_0304)
        #expect(bytes.readInteger(byteOrder: .little, as: Int64.self) == Int64.min)
        #expect(bytes.readInteger(as: UInt64.self) == 0x0A0B_0C0D_0E0F_1011)
        #expect(bytes.readInteger(as: Int.self) == 42)
        #expect(bytes.isEmpty)
    }

    @Test func shortDataGivesNilAndConsumesNothing() {
        var empty = Bytes()
        #expect(empty.readInteger(as: UInt8.self) == nil)
        #expect(empty.getInteger(at: 0, as: UInt64.self) == nil)
        var three: Bytes = [1, 2, 3]
        #expect(three.readInteger(as: UInt32.self) == nil)
        #expect(three.count == 3)
        #expect(three.getInteger(at: -1, as: UInt8.self) == nil)
        #expect(three.getInteger(at: 2, as: UInt16.self) == nil)
        #expect(three.getInteger(at: Int.max, as: UInt16.self) == nil)
        #expect(three.getInteger(at: 1, as: UInt16.self) == 0x0203)
        #expect(three.readBytes(4) == nil)
        #expect(three.readBytes(-1) == nil)
        #expect(three.count == 3)
        let writer = BytesMut()
        #expect(writer.getInteger(at: 0, as: UInt8.self) == nil)
    }

    @Test func collectionHashableLiteralAndDescription() {
        let bytes: Bytes = [0x68, 0x69]
        #expect(bytes.startIndex == 0 && bytes.endIndex == 2)
        #expect(bytes == Bytes("hi".utf8))
        #expect(bytes.hashValue == Bytes("hi".utf8).hashValue)
        #expect(Set([bytes, Bytes("hi".utf8), Bytes("ho".utf8)]).count == 2)
        #expect(bytes.description == "Bytes(2 bytes: 68 69)")
        #expect(Bytes().description == "Bytes(0 bytes)")
        let long = Bytes((0..<100).map { UInt8($0) })
        #expect(
            long.description
                == "Bytes(100 bytes: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f … 5c 5d 5e 5f 60 61 62 63)"
        )
        let slice = long[10..<20]
        #expect(slice.startIndex == 10, "a Slice shares its base's indices")
        #expect(Bytes(slice).startIndex == 0 && Array(Bytes(slice)) == Array(10..<20))
        #expect(long.bytes.byteCount == 100)
        #expect(long.bytes.unsafeLoad(fromByteOffset: 99, as: UInt8.self) == 99)
    }

    @Test func mergeJoinsOnlyAdjacentViewsOfOneStorage() {
        let bytes = Bytes(Array(0..<100), in: .shared)
        let a = bytes.slice(0..<40)
        let b = bytes.slice(40..<100)
        #expect(a.merged(with: b).map(Array.init) == Array(0..<100))
        #expect(b.merged(with: a) == nil, "not in order")
        #expect(a.merged(with: bytes.slice(41..<50)) == nil, "a gap")
        let arena = try! ArenaAllocator()
        var first = BytesMut(capacity: 16, in: arena)
        first.append(contentsOf: Array(1...16))
        let x = first.freeze()
        let y = Bytes([9, 9], in: arena)
        #expect(x.region.baseAddress + 16 == y.region.baseAddress, "carved one after the other")
        #expect(x.merged(with: y).map(Array.init) == Array(1...16) + [9, 9], "two carves of one chunk join")
        let foreign = Bytes(
            Region(unsafeNoCopy: UnsafeRawBufferPointer(start: y.region.baseAddress + 2, count: 0)) { _ in }
        )
        #expect(x.merged(with: foreign) == x, "empty views merge with anything")
    }

    @Test func aFailedReserveLosesNothing() throws {
        let arena = try ArenaAllocator(.init(name: "tight", chunkSize: 64 << 10, limit: 128 << 10))
        var writer = try BytesMut.make(capacity: 10_000, in: arena)
        writer.append(contentsOf: Array(repeating: 3, count: 10_000))
        let error = reserveError(&writer, 1 << 20)
        #expect(error == .limitExceeded(requested: 1 << 20 - 10_000, limit: 128 << 10, inUse: 10_000))
        #expect(writer.count == 10_000)
        #expect(writer.withUnsafeBytes { $0.allSatisfy { $0 == 3 } })
        #expect(throws: ArenaError.self) { _ = try BytesMut.make(capacity: 1 << 20, in: arena) }
        #expect(arena.statistics().limitHits == 2)
    }

    @Test func growingAUniqueBlockKeepsTheBytes() {
        var writer = BytesMut(capacity: 1 << 20)
        for block in 0..<8 { writer.append(contentsOf: Array(repeating: UInt8(block), count: 1 << 20)) }
        #expect(writer.count == 8 << 20)
        for block in 0..<8 {
            #expect(writer[block << 20] == UInt8(block) && writer[(block + 1) << 20 - 1] == UInt8(block))
        }
    }

    @Test func truncateRemoveAllAndSubscript() {
        var writer = BytesMut(capacity: 10)
        writer.append(contentsOf: [1, 2, 3, 4])
        writer.truncate(10)
        #expect(writer.count == 4)
        writer.truncate(2)
        #expect(writer.count == 2)
        writer[1] = 9
        #expect(writer[1] == 9)
        writer.removeAll(keepingCapacity: true)
        #expect(writer.count == 0 && writer.capacity >= 10)
        writer.removeAll()
        #expect(writer.capacity == 0)
        writer.append(7)
        #expect(writer.freeze() == [7])
    }

    @Test func bytesMutIsSendableAcrossThreads() async {
        var writer = BytesMut(capacity: 8)
        writer.append(contentsOf: [1, 2, 3])
        let frozen = writer.freeze()
        let fromAnotherThread = await Task.detached { Array(frozen) }.value
        #expect(fromAnotherThread == [1, 2, 3])
    }
}

/// Runs the throwing reserve and returns its error (a helper: SILGen crashes on a typed catch
/// in a function holding a ~Copyable local).
private func reserveError(_ writer: inout BytesMut, _ capacity: Int) -> ArenaError? {
    do {
        try writer.tryReserveCapacity(capacity)
        return nil
    } catch {
        return error
    }
}
