import ArenaBytes
import ArenaFFI
import Synchronization
import Testing

/// The C ABI, called in-process. Serialized: every test ends with the process-wide live-handle
/// count back at zero, which only holds if no other test holds a handle meanwhile.
@Suite("C ABI", .serialized, .timeLimit(.minutes(5)))
struct ArenaFFITests {
    // MARK: - Export

    @Test func exportedAddressIsTheSwiftViewsAddress() {
        let bytes = Bytes(Array("hello, foreign world".utf8))
        let exported = bytes.exported()
        #expect(UnsafeRawPointer(exported.data) == bytes.region.baseAddress)
        #expect(exported.count == bytes.count)
        #expect(ForeignHandles.live == 1)
        #expect(arena_live_handles() == 1)

        let (status, got) = callFilling { arena_handle_get(exported.handle, $0) }
        #expect(status == .ok)
        #expect(got.data == exported.data)
        #expect(got.len == bytes.count)
        #expect(got.handle == exported.handle)
        #expect(got.contents == Array(bytes))

        let view = Bytes(foreignHandle: exported.handle)
        #expect(view?.region.baseAddress == bytes.region.baseAddress)
        #expect(release(exported.handle) == .ok)
        #expect(Bytes(foreignHandle: exported.handle) == nil)
        #expect(ForeignHandles.live == 0)
    }

    @Test func copyHandsOutArenaMemoryWithTheContent() {
        let contents = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let (status, out) = copyIn(contents)
        #expect(status == .ok)
        #expect(out.len == contents.count)
        #expect(out.contents == contents)
        let swiftSide = Bytes(foreignHandle: out.handle)
        #expect(swiftSide?.region.baseAddress == UnsafeRawPointer(out.data))
        #expect(swiftSide?.region.storageKind != .foreign, "copied into the arena")
        #expect(release(out.handle) == .ok)
        #expect(arena_live_handles() == 0)
    }

    @Test func emptyCopyHasANonNullAddress() {
        let (status, out) = callFilling { arena_bytes_copy(nil, 0, $0) }
        #expect(status == .ok)
        #expect(out.data != nil)
        #expect(out.len == 0)
        #expect(release(out.handle) == .ok)
        #expect(arena_live_handles() == 0)
    }

    @Test func arenaStatisticsCountLiveHandles() throws {
        let arena = try ArenaAllocator(.init(name: "ffi-statistics"))
        let bytes = Bytes(Array(repeating: 7, count: 100), in: arena)
        #expect(arena.statistics().liveForeignExports == 0)
        let exported = bytes.exported()
        #expect(retain(exported.handle) == .ok)
        #expect(arena.statistics().liveForeignExports == 1, "a handle counts once, whatever its references")
        let (_, piece) = slice(exported.handle, 10, 10)
        #expect(arena.statistics().liveForeignExports == 2, "a slice is a handle of its own")
        #expect(release(exported.handle) == .ok)
        #expect(release(exported.handle) == .ok)
        #expect(arena.statistics().liveForeignExports == 1)
        #expect(release(piece.handle) == .ok)
        #expect(arena.statistics().liveForeignExports == 0)
        #expect(arena_live_handles() == 0)
    }

    // MARK: - Slices

    /// `(offset, len)` pairs past the end of 10 bytes, overflowing sums included.
    static let outOfBounds: [(UInt, UInt)] = [(0, 11), (11, 0), (5, 6), (1, .max), (.max, 1), (.max, .max)]

    @Test func slicesShareMemoryAndOutliveTheirParent() {
        let contents = Array(0..<100).map(UInt8.init)
        let (_, parent) = copyIn(contents)
        let base = parent.data!

        let (status, middle) = slice(parent.handle, 10, 20)
        #expect(status == .ok)
        #expect(middle.data == base + 10)
        #expect(middle.len == 20)
        #expect(middle.handle != parent.handle)
        #expect(middle.contents == Array(contents[10..<30]))

        let (tailStatus, tail) = slice(parent.handle, 100, 0)
        #expect(tailStatus == .ok, "an empty slice at the end is in bounds")
        #expect(tail.len == 0)

        let (wholeStatus, whole) = slice(parent.handle, 0, 100)
        #expect(wholeStatus == .ok)
        #expect(whole.data == base)

        #expect(arena_live_handles() == 4)
        #expect(release(parent.handle) == .ok)
        #expect(middle.contents == Array(contents[10..<30]), "a slice keeps the memory alive")
        let (nestedStatus, nested) = slice(middle.handle, 5, 5)
        #expect(nestedStatus == .ok)
        #expect(nested.data == base + 15)
        #expect(nested.contents == Array(contents[15..<20]))
        for handle in [middle.handle, tail.handle, whole.handle, nested.handle] {
            #expect(release(handle) == .ok)
        }
        #expect(arena_live_handles() == 0)
    }

    @Test(
        "Slices past the end get ARENA_ERR_OUT_OF_BOUNDS",
        arguments: outOfBounds
    )
    func sliceBounds(offset: UInt, len: UInt) {
        let (_, parent) = copyIn(Array(repeating: 1, count: 10))
        var out = CBytes()
        out.len = 12345
        let status = withUnsafeMutableBytes(of: &out) {
            ArenaFFIStatus(rawValue: arena_handle_slice(parent.handle, offset, len, $0.baseAddress!))
        }
        #expect(status == .outOfBounds)
        #expect(out.len == 12345 && out.data == nil && out.handle == nil, "out is untouched on error")
        #expect(arena_live_handles() == 1)
        #expect(release(parent.handle) == .ok)
        #expect(arena_live_handles() == 0)
    }

    // MARK: - References

    @Test func eachRetainNeedsOneRelease() {
        let (_, out) = copyIn([1, 2, 3])
        #expect(retain(out.handle) == .ok)
        #expect(retain(out.handle) == .ok)
        #expect(release(out.handle) == .ok)
        #expect(release(out.handle) == .ok)
        #expect(arena_live_handles() == 1, "one reference left")
        #expect(out.contents == [1, 2, 3])
        #expect(release(out.handle) == .ok)
        #expect(arena_live_handles() == 0)
        #expect(release(out.handle) == .invalidHandle)
        #expect(retain(out.handle) == .invalidHandle)
    }

    // MARK: - Bad handles

    @Test func nullHandlesGetAnErrorCode() {
        #expect(release(nil) == .nullHandle)
        #expect(retain(nil) == .nullHandle)
        #expect(slice(nil, 0, 0).0 == .nullHandle)
        #expect(callFilling { arena_handle_get(nil, $0) }.0 == .nullHandle)
        #expect(Bytes(foreignHandle: nil) == nil)
    }

    @Test func doubleReleaseGetsAnErrorCodeAndTouchesNoOtherHandle() {
        let (_, first) = copyIn([1])
        #expect(release(first.handle) == .ok)
        // A newer handle must not answer to the old one's value, whatever the allocator reuses.
        let (_, second) = copyIn([2])
        #expect(second.handle != first.handle)
        #expect(release(first.handle) == .invalidHandle)
        #expect(retain(first.handle) == .invalidHandle)
        #expect(slice(first.handle, 0, 0).0 == .invalidHandle)
        #expect(callFilling { arena_handle_get(first.handle, $0) }.0 == .invalidHandle)
        #expect(arena_live_handles() == 1, "the second handle is untouched")
        #expect(second.contents == [2])
        #expect(release(second.handle) == .ok)
        #expect(release(second.handle) == .invalidHandle)
        #expect(arena_live_handles() == 0)
    }

    @Test func unknownHandlesAreRefusedWithoutBeingFollowed() {
        let bogus = [UInt(0x10), 0x1000, 0xdead_bee0, UInt.max, 0x7fff_ffff_fff0]
        for value in bogus {
            let handle = OpaquePointer(bitPattern: value)
            #expect(release(handle) == .invalidHandle)
            #expect(retain(handle) == .invalidHandle)
            #expect(slice(handle, 0, 0).0 == .invalidHandle)
        }
    }

    @Test func nullAndOversizedArgumentsGetAnErrorCode() {
        let (_, out) = copyIn([1, 2, 3])
        #expect(ArenaFFIStatus(rawValue: arena_handle_get(out.handle, nil)) == .nullArgument)
        #expect(ArenaFFIStatus(rawValue: arena_handle_slice(out.handle, 0, 1, nil)) == .nullArgument)
        #expect(ArenaFFIStatus(rawValue: arena_bytes_copy(out.data, 3, nil)) == .nullArgument)
        #expect(callFilling { arena_bytes_copy(nil, 3, $0) }.0 == .nullArgument)
        #expect(callFilling { arena_bytes_copy(out.data, UInt.max, $0) }.0 == .tooLarge)
        #expect(callFilling { arena_bytes_import(nil, 3, nil, nil, $0) }.0 == .nullArgument)
        #expect(callFilling { arena_bytes_import(out.data, UInt(Int.max) + 1, nil, nil, $0) }.0 == .tooLarge)
        #expect(ArenaFFIStatus(rawValue: arena_bytes_import(out.data, 3, nil, nil, nil)) == .nullArgument)
        #expect(arena_live_handles() == 1, "failed calls hand out nothing")
        #expect(release(out.handle) == .ok)
        #expect(arena_live_handles() == 0)
    }

    @Test func statusDescriptions() {
        #expect(String(cString: arena_status_description(0)) == "ok")
        #expect(String(cString: arena_status_description(-2)) == "invalid handle (released or unknown)")
        #expect(String(cString: arena_status_description(-3)) == "slice out of bounds")
        #expect(String(cString: arena_status_description(42)) == "unknown status")
        #expect(ArenaFFIStatus.tooLarge.description == "length too large")
    }

    // MARK: - Foreign memory

    /// Who goes last: the Swift view or the handle.
    enum LastView: CaseIterable, Sendable {
        case swiftView
        case handle
    }

    @Test(
        "Imported memory is released exactly once, after the last Swift view and the last handle",
        arguments: LastView.allCases
    )
    func importedMemoryIsReleasedOnceAfterTheLastView(last: LastView) {
        let log = ReleaseLog()
        let foreign = ForeignBuffer(Array("imported from C".utf8))
        let (status, imported) = foreign.importInto(log)
        #expect(status == .ok)
        #expect(imported.data == UnsafePointer(foreign.pointer), "the same address, no copy")
        #expect(imported.len == foreign.count)

        var swiftView = Bytes(foreignHandle: imported.handle)
        #expect(swiftView?.region.baseAddress == UnsafeRawPointer(foreign.pointer))
        #expect(swiftView?.region.storageKind == .foreign)
        #expect(swiftView.map(Array.init) == Array("imported from C".utf8))
        let (_, piece) = slice(imported.handle, 9, 6)
        #expect(piece.contents == Array("from C".utf8))
        #expect(release(imported.handle) == .ok)
        #expect(log.recorded.isEmpty, "a slice handle and a Swift view are alive")

        switch last {
        case .swiftView:
            #expect(release(piece.handle) == .ok)
            #expect(log.recorded.isEmpty, "the Swift view is alive")
            #expect(swiftView?.count == foreign.count)
            swiftView = nil
        case .handle:
            #expect(swiftView?.count == foreign.count)
            swiftView = nil
            #expect(log.recorded.isEmpty, "the slice handle is alive")
            #expect(release(piece.handle) == .ok)
        }
        let expected = ReleaseLog.Call(address: UInt(bitPattern: foreign.pointer), len: UInt(foreign.count))
        #expect(log.recorded == [expected])
        #expect(release(piece.handle) == .invalidHandle)
        #expect(log.recorded.count == 1, "never twice")
        #expect(arena_live_handles() == 0)
    }

    @Test func importWithoutCallbackAndEmptyImports() {
        let foreign = ForeignBuffer([9, 8, 7])
        let (status, imported) = callFilling {
            arena_bytes_import(foreign.pointer, UInt(foreign.count), nil, nil, $0)
        }
        #expect(status == .ok)
        #expect(imported.contents == [9, 8, 7])
        #expect(release(imported.handle) == .ok)

        let log = ReleaseLog()
        let (emptyStatus, empty) = callFilling {
            arena_bytes_import(nil, 0, ReleaseLog.callback, log.context, $0)
        }
        #expect(emptyStatus == .ok)
        #expect(empty.data != nil)
        #expect(empty.len == 0)
        #expect(release(empty.handle) == .ok)
        #expect(log.recorded == [.init(address: 0, len: 0)], "NULL and 0 given back, once")
        #expect(arena_live_handles() == 0)
        withExtendedLifetime(foreign) {}
    }

    @Test func importedMemoryIsNeverReclaimedEvenWhenSwiftHoldsTheLastView() {
        let contents = Array("const memory from C, never written".utf8)
        let foreign = ForeignBuffer(contents)
        let log = ReleaseLog()
        let (status, imported) = foreign.importInto(log)
        #expect(status == .ok)
        guard let view = Bytes(foreignHandle: imported.handle) else {
            Issue.record("the imported handle has no view")
            return
        }
        #expect(release(imported.handle) == .ok, "the Swift view is now the last reference")
        #expect(log.recorded.isEmpty)
        let reclaimed = reclaims(consume view)
        #expect(!reclaimed, "memory C passed as const is never the package's to write")
        #expect(Array(UnsafeBufferPointer(start: foreign.pointer, count: foreign.count)) == contents)
        #expect(log.recorded.count == 1, "released once, when the last view went")
        withExtendedLifetime(foreign) {}
    }

    @Test func failedImportNeverCallsTheCallback() {
        let log = ReleaseLog()
        let status = arena_bytes_import(nil, 5, ReleaseLog.callback, log.context, nil)
        #expect(ArenaFFIStatus(rawValue: status) == .nullArgument)
        #expect(log.recorded.isEmpty)
    }

    @Test func concurrentRetainsAndReleasesReleaseOnce() async {
        let log = ReleaseLog()
        let foreign = ForeignBuffer(Array(repeating: 0xAB, count: 4096))
        let (_, imported) = foreign.importInto(log)
        let handle = UInt(bitPattern: imported.handle)
        let tasks = 4
        let rounds = 500
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    let handle = OpaquePointer(bitPattern: handle)
                    for round in 0..<rounds {
                        _ = arena_handle_retain(handle)
                        let (_, piece) = slice(handle, UInt(round % 64), UInt(task))
                        _ = arena_handle_release(piece.handle)
                        _ = arena_handle_release(handle)
                    }
                }
            }
        }
        #expect(arena_live_handles() == 1)
        #expect(log.recorded.isEmpty)
        #expect(release(imported.handle) == .ok)
        #expect(log.recorded.count == 1)
        #expect(arena_live_handles() == 0)
        withExtendedLifetime(foreign) {}
    }
}

/// Whether `BytesMut(reclaiming:)` makes a writer of `view` (which is gone either way).
private func reclaims(_ view: consuming Bytes) -> Bool {
    guard let writer = BytesMut(reclaiming: view) else { return false }
    _ = consume writer
    return true
}
