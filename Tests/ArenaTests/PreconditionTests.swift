import Arena
import Testing

/// One exit test per precondition of the Arena module.
@Suite("Arena preconditions", .timeLimit(.minutes(5)))
struct ArenaPreconditionTests {
    @Test func negativeByteCountTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = try? ArenaAllocator.shared.allocate(byteCount: -1)
        }
    }

    @Test func alignmentThatIsNotAPowerOfTwoTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = try? ArenaAllocator.shared.allocate(byteCount: 8, alignment: 3)
        }
        await #expect(processExitsWith: .failure) {
            _ = try? ArenaAllocator.shared.allocate(byteCount: 8, alignment: 0)
        }
    }

    @Test func regionSliceOutOfBoundsTraps() async {
        await #expect(processExitsWith: .failure) {
            let region = try? ArenaAllocator.shared.allocate(byteCount: 8)
            _ = region?.slice(4..<9)
        }
    }
}
