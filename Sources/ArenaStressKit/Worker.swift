// One worker thread: its loop, its pool of views, and the checks every operation uses.
// The operations themselves live in Worker+Writers.swift, Worker+Views.swift and
// Worker+Chains.swift.

import Arena
import ArenaBytes
import ArenaToolSupport

/// One worker: holds a pool of views, performs weighted random operations on them and checks
/// every byte it reads and every zero-copy claim.
///
/// A worker's state belongs to its thread; what others see of it goes through
/// ``SharedState`` (queues, counters, the stop flag). In a single-thread run the worker hands
/// views to itself, so the same seed gives the same operations.
final class Worker {
    /// The worker's number, 0-based.
    let index: Int
    /// The run's settings.
    let configuration: StressConfiguration
    /// The arena every allocation comes from.
    let arena: ArenaAllocator
    /// What the workers share.
    let shared: SharedState
    /// This worker's counters in `shared`.
    let counters: WorkerCounters
    /// The worker's own random numbers, from the seed and its index.
    var random: SplitMix64
    /// The views the worker holds.
    var pool: [Tracked] = []
    /// The sum of the pool's view sizes (clones count again): what pool pressure is measured in.
    var poolBytes = 0
    /// Past this many bytes in the pool, the worker drops views.
    let poolBudget: Int
    /// The operations counted by kind, indexed by `OperationKind.rawValue`.
    var counts = Array(repeating: 0, count: OperationKind.allCases.count)
    /// Outcomes worth counting.
    var outcomes = Outcomes()
    /// The serial number of the worker's next allocation identity.
    var serial: UInt64 = 0
    /// The operation being performed, 0-based.
    var operationIndex = 0
    /// How many operations to perform, or `nil` to run until the deadline.
    let quota: Int?
    /// When to stop, or `nil` to run until the quota.
    let deadline: ContinuousClock.Instant?
    /// The long-lived read buffer of the read-buffer pattern.
    var readBuffer: BytesMut?
    /// What the read buffer's written bytes must be.
    var readBufferProvenance = Provenance()
    /// The lease of the read buffer's memory.
    var readBufferOwners = Owners()
    /// The capacity the read buffer is reserved back to.
    var readBufferTarget = 0
    /// Whether the corruption the tests ask for is still to be done.
    var corruptionPending: Bool

    /// The most views a worker holds before it drops some.
    static let poolViewLimit = 1024
    /// Views up to this size are checked whole when only sampled reads are needed.
    static let fullCheckLimit = 4 << 10

    /// A worker with its share of the run.
    init(
        index: Int,
        configuration: StressConfiguration,
        arena: ArenaAllocator,
        shared: SharedState,
        quota: Int?,
        deadline: ContinuousClock.Instant?
    ) {
        self.index = index
        self.configuration = configuration
        self.arena = arena
        self.shared = shared
        self.counters = shared.counters[index]
        self.random = SplitMix64(seed: Pattern.mix(configuration.seed ^ UInt64(index) &* 0xD1B5_4A32_D192_ED03))
        self.poolBudget = max(configuration.maxLiveBytes / configuration.threads, 1)
        self.quota = quota
        self.deadline = deadline
        self.corruptionPending = configuration.injectCorruption && index == 0
    }

    // MARK: - Loop

    /// Runs until the quota, the deadline or a violation, then hands back its views and counts.
    func run() {
        do {
            try loop()
        } catch {
            var violation = error
            violation.worker = index
            violation.operationIndex = operationIndex
            shared.report(violation)
        }
        counters.operations.store(operationIndex, ordering: .relaxed)
        if let buffer = readBuffer.take() {
            let frozen = buffer.freeze()
            add(Tracked(frozen, readBufferProvenance, owners: readBufferOwners))
            readBufferProvenance = Provenance()
            readBufferOwners = Owners()
        }
        shared.finish(worker: index, with: WorkerResult(counts: counts, outcomes: outcomes, views: pool))
        pool = []
    }

    private func loop() throws(Violation) {
        while true {
            if operationIndex & 7 == 0 {
                counters.operations.store(operationIndex, ordering: .relaxed)
                if shared.stop.load(ordering: .relaxed) { return }
                if let deadline, ContinuousClock.now >= deadline { return }
            }
            if let quota, operationIndex >= quota { return }
            if configuration.compact && operationIndex & 31 == 16 { try compactPool() }
            let performed = try perform(choose())
            counts[performed.rawValue] += 1
            operationIndex += 1
        }
    }

    /// The next operation: every 32nd takes the views handed to this worker; a full pool drops;
    /// otherwise a weighted draw.
    private func choose() -> OperationKind {
        if operationIndex % 32 == 31 { return .receive }
        if pool.count > Self.poolViewLimit || poolBytes > poolBudget { return .drop }
        return configuration.weights.kind(for: Int.random(in: 0..<configuration.weights.total, using: &random))
    }

    /// Performs `kind`, or `allocate` when it needs views and the pool has too few; returns
    /// what it performed.
    private func perform(_ kind: OperationKind) throws(Violation) -> OperationKind {
        let needed = kind == .merge ? 2 : 1
        if pool.count < needed && kind != .allocate && kind != .grow && kind != .splitWriter
            && kind != .receive && kind != .readBuffer
        {
            try allocate()
            return .allocate
        }
        switch kind {
        case .allocate: try allocate()
        case .grow: try grow()
        case .splitWriter: try splitWriter()
        case .clone: try clone()
        case .slice: try slice()
        case .split: try split()
        case .read: try read()
        case .merge: try merge()
        case .handOff: try handOff()
        case .receive: try receive()
        case .chain: try chain()
        case .reclaim: try reclaim()
        case .readBuffer: try useReadBuffer()
        case .drop: try drop()
        }
        return kind
    }

    // MARK: - Pool

    /// `--compact`: copies each view that keeps at least four times its size alive (an empty
    /// view that keeps any storage alive, too) with `Bytes.compacted()`, checks every byte of
    /// the copy, and keeps the copy instead (with a lease of its own size). A copy the limit
    /// refuses leaves the view as it was.
    func compactPool() throws(Violation) {
        for position in pool.indices {
            let tracked = pool[position]
            let bytes = tracked.bytes
            // Empty views too: an empty slice or split of a chunk keeps the whole chunk alive,
            // and its compacted form keeps nothing.
            guard bytes.retainedBytes >= 4 * bytes.count, bytes.retainedBytes > 0 else { continue }
            let copy: Bytes
            do {
                copy = try bytes.compacted()
            } catch {
                outcomes.compactionFailed += 1
                continue
            }
            if copy.region.baseAddress == bytes.region.baseAddress { continue }
            if copy.retainedBytes > bytes.retainedBytes || copy.count != bytes.count {
                throw Violation(
                    "compact",
                    "compacted() of the \(bytes.count)-byte view at \(hex(tracked.address)) gave \(copy.count) bytes "
                        + "retaining \(copy.retainedBytes), the view retained \(bytes.retainedBytes)"
                )
            }
            let mismatch = copy.withUnsafeBytes { tracked.provenance.firstMismatch(in: $0) }
            outcomes.bytesVerified += copy.count
            if let mismatch {
                throw Violation(
                    "compact",
                    "compacted() of the \(bytes.count)-byte view at \(hex(tracked.address)): byte \(mismatch) "
                        + "differs from the pattern"
                )
            }
            let lease = Lease(accountedBytes: copy.count, counter: counters.live)
            pool[position] = Tracked(copy, tracked.provenance, owners: Owners(lease))
            outcomes.compacted += 1
        }
    }

    /// Adds a view to the pool.
    func add(_ tracked: Tracked) {
        pool.append(tracked)
        poolBytes += tracked.bytes.count
    }

    /// A random position in the (non-empty) pool.
    func randomIndex() -> Int {
        Int.random(in: 0..<pool.count, using: &random)
    }

    /// Removes the view at `position` (the last view takes its place: drops happen in random
    /// order).
    func remove(at position: Int) -> Tracked {
        pool.swapAt(position, pool.count - 1)
        let tracked = pool.removeLast()
        poolBytes -= tracked.bytes.count
        return tracked
    }

    /// A fresh allocation identity and its pattern key.
    func newIdentity() -> (identity: UInt64, key: UInt64) {
        serial += 1
        let identity = UInt64(index) << 48 | serial
        return (identity, Pattern.key(seed: configuration.seed, identity: identity))
    }

    // MARK: - Checks

    /// Throws a violation of `operation` with `detail` unless `condition` holds.
    @inline(__always)
    func check(_ condition: Bool, _ operation: OperationKind, _ detail: @autoclosure () -> String) throws(Violation) {
        if !condition { throw Violation(operation.name, detail()) }
    }

    /// Checks every byte of `tracked` against its pattern.
    func verify(_ tracked: Tracked, _ operation: OperationKind, what: String = "view") throws(Violation) {
        try check(
            tracked.bytes.count == tracked.provenance.count,
            operation,
            "\(what) at \(hex(tracked.address)) has \(tracked.bytes.count) bytes, expected \(tracked.provenance.count)"
        )
        let mismatch = tracked.bytes.withUnsafeBytes { tracked.provenance.firstMismatch(in: $0) }
        outcomes.bytesVerified += tracked.bytes.count
        if let mismatch {
            throw Violation(operation.name, mismatchDetail(tracked, at: mismatch, what: what))
        }
    }

    /// Checks `tracked` whole when it is small, else its first and last 64 bytes and 64 bytes
    /// at a random place: the bytes an operation that does not read everything looks at.
    func verifySample(_ tracked: Tracked, _ operation: OperationKind, what: String = "view") throws(Violation) {
        let count = tracked.bytes.count
        guard count > Self.fullCheckLimit else { return try verify(tracked, operation, what: what) }
        let middle = Int.random(in: 64..<(count - 128), using: &random)
        for range in [0..<64, middle..<middle + 64, count - 64..<count] {
            try verify(tracked.slice(range), operation, what: "\(what) [\(range.lowerBound)..<\(range.upperBound)]")
        }
    }

    /// Describes a byte that differs from the pattern: where, what was expected, what was found.
    func mismatchDetail(_ tracked: Tracked, at position: Int, what: String) -> String {
        let found = tracked.bytes[position]
        var owner = "?"
        tracked.provenance.forEach { piece, start in
            if position >= start && position < start + piece.count {
                owner = "allocation \(hex(UInt(piece.identity))) offset \(piece.offset + position - start)"
            }
        }
        return "\(what) at \(hex(tracked.address)) (\(tracked.bytes.count) bytes): byte \(position) is "
            + "\(hex(UInt(found))), the pattern says \(hex(UInt(tracked.provenance.expectedByte(at: position)))) "
            + "(\(owner))"
    }

    /// Checks a writer's written bytes against `provenance`.
    func verifyWriter(
        _ writer: borrowing BytesMut,
        _ provenance: Provenance,
        _ operation: OperationKind,
        what: String = "writer"
    ) throws(Violation) {
        try check(
            writer.count == provenance.count,
            operation,
            "\(what) holds \(writer.count) bytes, expected \(provenance.count)"
        )
        let mismatch = writer.withUnsafeBytes { provenance.firstMismatch(in: $0) }
        outcomes.bytesVerified += writer.count
        if let mismatch {
            let found = writer.withUnsafeBytes { $0[mismatch] }
            throw Violation(
                operation.name,
                "\(what) at \(hex(address(of: writer))): byte \(mismatch) is \(hex(UInt(found))), "
                    + "the pattern says \(hex(UInt(provenance.expectedByte(at: mismatch))))"
            )
        }
    }

    /// The address of a writer's first byte, as a number.
    func address(of writer: borrowing BytesMut) -> UInt {
        writer.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
    }

    // MARK: - Allocation failures

    /// Handles an allocation that failed: a `limitExceeded` under `--limit`, or an
    /// `outOfMemory` (the system refused, or `--fail-rate` did), is counted, and the worker sheds
    /// load (drops a quarter of its views) after checking that the views it keeps are intact;
    /// any other error is a violation.
    func allocationFailed(_ error: ArenaError, _ operation: OperationKind, requested: Int) throws(Violation) {
        switch error {
        case .limitExceeded where configuration.limit != nil:
            outcomes.limitExceeded += 1
            counters.limitHits.add(1, ordering: .relaxed)
        case .outOfMemory:
            outcomes.outOfMemory += 1
        default:
            throw Violation(operation.name, "allocating \(requested) bytes failed: \(error)")
        }
        // The failed request must have changed nothing: check some of the views the worker keeps.
        for _ in 0..<min(4, pool.count) {
            try verifySample(pool[randomIndex()], operation, what: "view kept across a refused allocation")
        }
        for _ in 0..<(pool.count + 3) / 4 {
            let dropped = remove(at: randomIndex())
            try verify(dropped, operation, what: "view dropped after a refused allocation")
            outcomes.shedDrops += 1
        }
    }
}

/// Makes a writer with the throwing form; returns the error instead of throwing it.
///
/// A separate function: a typed `catch` in a function that holds a `~Copyable` local crashed
/// SILGen in Swift 6.3. `@inline(__always)`, so that in an optimized build the memory profile
/// (`--sample-interval`) names the operation that allocates rather than this helper (a debug
/// build, which inlines nothing, names the helper).
@inline(__always)
func makeWriter(capacity: Int, in arena: ArenaAllocator, into slot: inout BytesMut?) -> ArenaError? {
    do {
        slot = try BytesMut.make(capacity: capacity, in: arena)
        return nil
    } catch {
        return error
    }
}

/// Grows a writer with `tryReserveCapacity`; returns the error instead of throwing it.
/// `@inline(__always)` for the memory profile, as ``makeWriter(capacity:in:into:)`` is.
@inline(__always)
func tryReserve(_ writer: inout BytesMut, capacity: Int) -> ArenaError? {
    do {
        try writer.tryReserveCapacity(capacity)
        return nil
    } catch {
        return error
    }
}

/// `0x…` for a number.
func hex(_ value: UInt) -> String {
    "0x" + String(value, radix: 16)
}
