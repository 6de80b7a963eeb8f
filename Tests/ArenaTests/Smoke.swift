import Arena
import Testing

@Test func smoke() throws {
    let region = try ArenaAllocator.shared.allocate(byteCount: 64)
    #expect(region.count == 64)
}
