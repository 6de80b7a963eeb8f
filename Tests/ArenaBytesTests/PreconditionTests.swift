import ArenaBytes
import Testing

/// One exit test per precondition of the byte views.
@Suite("Byte view preconditions", .timeLimit(.minutes(5)))
struct BytesPreconditionTests {
    @Test func bytesPreconditions() async {
        await #expect(processExitsWith: .failure) { _ = Bytes([1, 2, 3])[3] }
        await #expect(processExitsWith: .failure) { _ = Bytes([1, 2, 3])[-1] }
        await #expect(processExitsWith: .failure) { _ = Bytes([1, 2, 3]).slice(2..<4) }
        await #expect(processExitsWith: .failure) {
            var bytes: Bytes = [1, 2, 3]
            _ = bytes.split(to: 4)
        }
        await #expect(processExitsWith: .failure) {
            var bytes: Bytes = [1, 2, 3]
            _ = bytes.split(from: -1)
        }
    }

    @Test func bytesMutPreconditions() async {
        await #expect(processExitsWith: .failure) { _ = BytesMut(capacity: -1) }
        await #expect(processExitsWith: .failure) { _ = try? BytesMut.make(capacity: -1) }
        await #expect(processExitsWith: .failure) {
            var writer = BytesMut()
            writer.reserveCapacity(-1)
        }
        await #expect(processExitsWith: .failure) {
            var writer = BytesMut()
            try? writer.tryReserveCapacity(-1)
        }
        await #expect(processExitsWith: .failure) {
            var writer = BytesMut()
            writer.append(1)
            _ = writer.split(to: 2)
        }
        await #expect(processExitsWith: .failure) {
            var writer = BytesMut()
            _ = writer.split(from: 1)
        }
        await #expect(processExitsWith: .failure) {
            var writer = BytesMut()
            writer.append(contentsOf: [1, 2, 3])
            writer.setInteger(UInt32(1), at: 0)
        }
        await #expect(processExitsWith: .failure) {
            var writer = BytesMut()
            writer.truncate(-1)
        }
        await #expect(processExitsWith: .failure) {
            let writer = BytesMut()
            _ = writer[0]
        }
        await #expect(processExitsWith: .failure) {
            var writer = BytesMut(capacity: 4)
            writer.withUnsafeMutableUninitializedCapacity { $0.count + 1 }
        }
    }

    @Test func bytesMutSubscriptSetterAndChainIndexPreconditions() async {
        await #expect(processExitsWith: .failure) {
            var writer = BytesMut(capacity: 4)
            writer[0] = 1
        }
        await #expect(processExitsWith: .failure) {
            let chain: Chain = [[1, 2]]
            _ = chain[chain.endIndex]
        }
        await #expect(processExitsWith: .failure) {
            let chain: Chain = [[1, 2]]
            _ = chain.index(after: chain.endIndex)
        }
    }

    @Test func theTrappingFormsTrapWhenTheArenaIsFull() async {
        await #expect(processExitsWith: .failure) {
            let arena = try! ArenaAllocator(.init(name: "full", limit: 64 << 10))
            _ = BytesMut(capacity: 1 << 20, in: arena)
        }
        await #expect(processExitsWith: .failure) {
            let arena = try! ArenaAllocator(.init(name: "full", limit: 64 << 10))
            var writer = BytesMut(in: arena)
            writer.append(contentsOf: Array(repeating: 0, count: 1 << 20))
        }
        await #expect(processExitsWith: .failure) {
            let arena = try! ArenaAllocator(.init(name: "full", limit: 64 << 10))
            let big = Bytes(Array(repeating: 1, count: 40 << 10), in: arena)
            _ = Chain([big, Bytes([2])]).flattened(in: arena)
        }
    }
}
