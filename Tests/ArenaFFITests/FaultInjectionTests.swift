@_spi(FaultInjection) import Arena
import ArenaBytes
import ArenaFFI
import Testing

extension ArenaFFITests {
    /// `arena_bytes_copy` the SQLite way: its 1st allocation refused, then its 2nd, … until a run
    /// that never reaches the refusal. A refused copy answers `ARENA_ERR_ALLOCATION_FAILED`,
    /// leaves `out` as it was and hands out no handle; the next call works.
    @Test func aCopyThatIsRefusedMemoryHandsOutNothingAndTheNextWorks() {
        // Larger than the shared arena carves (8 KiB), so the copy asks the backend for a block
        // whatever the calling thread's chunk holds.
        let contents = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        let faults = ArenaAllocator.shared.faultInjection
        var failures = 0
        for n in 1...20 {
            // Only this thread's allocations: other suites use the shared arena meanwhile.
            faults.set(.failNth(n), onlyThisThread: true)
            var out = CBytes(data: nil, len: -1, handle: nil)
            let status = contents.withUnsafeBufferPointer { buffer in
                withUnsafeMutableBytes(of: &out) {
                    ArenaFFIStatus(rawValue: arena_bytes_copy(buffer.baseAddress, UInt(buffer.count), $0.baseAddress))
                }
            }
            let injected = faults.counts.injected
            faults.set(.off)
            if injected == 0 {
                #expect(status == .ok)
                #expect(out.contents == contents)
                #expect(release(out.handle) == .ok)
                break
            }
            failures += 1
            #expect(status == .allocationFailed)
            #expect(out.len == -1 && out.data == nil && out.handle == nil, "a failed copy writes nothing")
            #expect(arena_live_handles() == 0, "a failed copy hands out no handle")
            let (retried, copy) = copyIn(contents)
            #expect(retried == .ok && copy.contents == contents, "the next copy works")
            #expect(release(copy.handle) == .ok)
        }
        #expect(failures >= 1, "no copy was refused, so nothing was tested")
        #expect(arena_live_handles() == 0)
    }
}
