import ArenaBytes
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Foreign memory is only ever read: never reclaimed by a writer, grown in place or written,
/// however unique the view that holds it.
@Suite("Foreign storage is never written", .timeLimit(.minutes(5)))
struct ForeignStorageTests {
    static let original = Array("hello, world: foreign bytes".utf8)

    /// Memory of the test's own, viewed through `Region(unsafeNoCopy:deallocator:)`.
    final class Owned: @unchecked Sendable {
        let pointer: UnsafeMutableRawBufferPointer
        let releases = Atomic<Int>(0)
        init() {
            pointer = .allocate(byteCount: ForeignStorageTests.original.count, alignment: 16)
            pointer.copyBytes(from: ForeignStorageTests.original)
        }
        deinit { pointer.deallocate() }
        var contents: [UInt8] { Array(pointer) }
        func region() -> Region {
            Region(unsafeNoCopy: UnsafeRawBufferPointer(pointer)) { [self] _ in
                releases.add(1, ordering: .relaxed)
            }
        }
    }

    @Test func aLastViewOfDeallocatorStorageIsNotReclaimed() {
        let memory = Owned()
        let reclaimed = reclaims(Bytes(memory.region()))
        #expect(!reclaimed, "a writer over memory the package does not own")
        #expect(memory.contents == Self.original)
        #expect(memory.releases.load(ordering: .relaxed) == 1, "the view is gone, released once")
    }

    @Test func aLastViewOfOwnerStorageIsNotReclaimed() {
        final class Owner: @unchecked Sendable {
            var bytes = ForeignStorageTests.original
        }
        let owner = Owner()
        let view = owner.bytes.withUnsafeBytes { Bytes(Region(unsafeNoCopy: $0, owner: owner)) }
        #expect(view.region.storageKind == .foreign)
        let reclaimed = reclaims(consume view)
        #expect(!reclaimed)
        #expect(owner.bytes == Self.original)
    }

    @Test func foreignStorageIsNeverTakenOrGrownInPlace() throws {
        let memory = Owned()
        var region = memory.region()
        let taken = region.takeStorageIfUnique()
        #expect(!taken, "the only region, but not the package's memory")
        let count = region.count
        try region.grow(needed: count + 64, wanted: count + 64, preserving: count)
        #expect(region.storageKind == .chunk, "growth moves to arena memory")
        #expect(Array(region.unsafeBytes.prefix(count)) == Self.original)
        #expect(memory.contents == Self.original)
        _ = consume region
        #expect(memory.releases.load(ordering: .relaxed) == 1)
    }

    @Test func aWriterThatReclaimsArenaMemoryStillWorks() {
        var writer = BytesMut(capacity: 1 << 20)  // a dedicated block: no other view shares it
        writer.append(contentsOf: Self.original)
        let reclaimed = reclaims(writer.freeze())
        #expect(reclaimed, "arena memory is still reclaimed")
    }

    /// A zero-copy view of a read-only page (a mapped file, say): reclaiming and writing it
    /// used to crash with a bad access, so this runs in a child process.
    @Test func aReadOnlyMappedPageIsNeverWritten() async {
        await #expect(processExitsWith: .success) {
            let size = Int(sysconf(Int32(_SC_PAGESIZE)))
            guard let page = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                page != MAP_FAILED
            else { exit(3) }
            page.storeBytes(of: 0x68, as: UInt8.self)
            guard mprotect(page, size, PROT_READ) == 0 else { exit(4) }
            let view = Bytes(
                Region(unsafeNoCopy: UnsafeRawBufferPointer(start: page, count: size)) { buffer in
                    munmap(UnsafeMutableRawPointer(mutating: buffer.baseAddress), buffer.count)
                }
            )
            if var writer = BytesMut(reclaiming: consume view) {
                writer.removeAll(keepingCapacity: true)
                writer.append(0x4A)  // a write to a read-only page: the bug this guards against
                exit(5)
            }
        }
    }

    /// A frame handed to another thread, read there and dropped, then the writer rewinds over
    /// it on this thread. The only synchronization between the reader's last read and the
    /// writer's next write is the storage's reference count: under `--sanitize=thread` the
    /// package's annotations must keep ThreadSanitizer from reporting a race (a report fails
    /// the run).
    @Test func aViewReadOnAnotherThreadThenReclaimedIsNotARace() throws {
        for round in 0..<20 {
            var buffer = try BytesMut.make(capacity: 4096, in: ArenaAllocator(.init(name: "tsan-\(round)")))
            buffer.append(contentsOf: repeatElement(UInt8(round), count: 256))
            let frame = buffer.split(to: 256).freeze()
            _ = consume buffer
            var region = frame.region
            let reader = Reader(frame)
            _ = consume frame
            reader.start()
            // Wait for the reader to drop its view: the reference count is the only signal.
            var spins = 0
            while !region.takeStorageIfUnique() {
                spins += 1
                guard spins < 10_000_000 else {
                    Issue.record("the reader's view never went away")
                    reader.join()
                    return
                }
                sched_yield()
            }
            // Plain stores through a typed pointer, which the sanitizer instruments in debug
            // builds too (the standard library's own loops are not instrumented).
            let bytes = region.start.assumingMemoryBound(to: UInt8.self)
            for index in 0..<256 { bytes[index] = 0xEE }
            reader.join()
            #expect(reader.sum == 256 * round, "the reader saw the frame before it was reused")
        }
    }
}

/// A thread that reads a view through `withUnsafeBytes`, then drops it; nothing else tells the
/// starting thread when it is done (`join` comes after the reuse).
private final class Reader: @unchecked Sendable {
    private var view: Bytes?
    private var thread = pthread_t()
    private let total = Atomic<Int>(0)
    var sum: Int { total.load(ordering: .relaxed) }

    init(_ view: Bytes) { self.view = view }

    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        let code = pthread_create(
            &thread,
            nil,
            { context in
                let reader = Unmanaged<Reader>.fromOpaque(context!).takeRetainedValue()
                reader.run()
                return nil
            },
            context
        )
        precondition(code == 0)
    }

    private func run() {
        var sum = 0
        view?.withUnsafeBytes { buffer in
            let bytes = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for index in 0..<buffer.count { sum += Int(bytes[index]) }
        }
        view = nil
        total.store(sum, ordering: .relaxed)
    }

    func join() { pthread_join(thread, nil) }
}

/// Whether `BytesMut(reclaiming:)` makes a writer of `view` (which is gone either way).
private func reclaims(_ view: consuming Bytes) -> Bool {
    guard let writer = BytesMut(reclaiming: view) else { return false }
    _ = consume writer
    return true
}
