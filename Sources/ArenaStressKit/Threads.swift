// Worker threads and what they share: the stop flag, the hand-off queues, the progress
// counters and the first violation.

import ArenaBytes
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A broken promise of the arena or the views: the stress test stops at the first one.
package struct Violation: Error, Sendable, CustomStringConvertible {
    /// The operation that found it.
    package var operation: String
    /// What was expected and what was found, with the values.
    package var detail: String
    /// The worker that found it; `nil` for the checks after the run.
    package var worker: Int?
    /// The worker's operation number (0-based); `nil` for the checks after the run.
    package var operationIndex: Int?

    /// A violation found by `operation`.
    package init(_ operation: String, _ detail: String) {
        self.operation = operation
        self.detail = detail
    }

    /// One line: where, which operation, what.
    package var description: String {
        var place = ""
        if let worker, let operationIndex { place = "worker \(worker), operation #\(operationIndex), " }
        return "\(place)\(operation): \(detail)"
    }
}

/// A bounded queue of views from other workers to one worker.
final class HandOffQueue: Sendable {
    /// The most views waiting; a full queue refuses more (the sender keeps its view).
    static let capacity = 256

    private let items = Locked<[Tracked]>([])

    /// An empty queue.
    init() {}

    /// Adds a view; `false` (and the view stays with the caller) when the queue is full.
    func push(_ item: Tracked) -> Bool {
        items.withLock { items in
            guard items.count < Self.capacity else { return false }
            items.append(item)
            return true
        }
    }

    /// Whether a waiting view satisfies `predicate`.
    func contains(where predicate: (Tracked) -> Bool) -> Bool {
        items.withLock { $0.contains(where: predicate) }
    }

    /// Takes every waiting view.
    func drain() -> [Tracked] {
        items.withLock { items in
            let taken = items
            items.removeAll(keepingCapacity: true)
            return taken
        }
    }
}

/// What one worker did, handed back when it stops, with the views it still holds (the main
/// thread checks and drops them after reading the arena's figures).
struct WorkerResult: Sendable {
    /// Operations by kind, indexed by `OperationKind.rawValue`.
    var counts: [Int]
    /// Outcomes worth counting (limit hits, zero-copy merges, …).
    var outcomes: Outcomes
    /// The views it held when it stopped.
    var views: [Tracked]
}

/// Per-worker counters the main thread reads for the progress line.
final class WorkerCounters: Sendable {
    /// Operations done so far (published every 8 operations and at the end).
    let operations = Atomic<Int>(0)
    /// Bytes of the worker's allocations some view refers to.
    let live = LiveCounter()
    /// `ArenaError.limitExceeded` caught so far.
    let limitHits = Atomic<Int>(0)

    /// Counters at zero.
    init() {}
}

/// What all workers share.
final class SharedState: Sendable {
    /// Set when the run must end: time is up, or a worker found a violation.
    let stop = Atomic<Bool>(false)
    /// One queue per worker, for views handed to it.
    let queues: [HandOffQueue]
    /// One set of counters per worker.
    let counters: [WorkerCounters]
    /// How many workers have handed back their result.
    private let finished = Atomic<Int>(0)
    private let firstViolation = Locked<Violation?>(nil)
    private let results: Locked<[WorkerResult?]>

    /// State for `threads` workers.
    init(threads: Int) {
        queues = (0..<threads).map { _ in HandOffQueue() }
        counters = (0..<threads).map { _ in WorkerCounters() }
        results = Locked(Array(repeating: nil, count: threads))
    }

    /// Records a violation (the first one wins) and tells every worker to stop.
    func report(_ violation: Violation) {
        firstViolation.withLock { first in
            if first == nil { first = violation }
        }
        stop.store(true, ordering: .relaxed)
    }

    /// The first violation reported, if any.
    var violation: Violation? {
        firstViolation.withLock { $0 }
    }

    /// Stores a worker's result.
    func finish(worker: Int, with result: WorkerResult) {
        results.withLock { $0[worker] = result }
        finished.add(1, ordering: .releasing)
    }

    /// How many workers have stopped and handed back their result.
    var finishedWorkers: Int {
        finished.load(ordering: .acquiring)
    }

    /// Takes every worker's result (after the threads are joined).
    func takeResults() -> [WorkerResult] {
        results.withLock { results in
            let taken = results.compactMap { $0 }
            results = Array(repeating: nil, count: results.count)
            return taken
        }
    }
}

/// A POSIX thread running one closure; join it once.
struct WorkerThread {
    #if canImport(Darwin)
    private let handle: pthread_t?
    #else
    private let handle: pthread_t
    #endif

    /// The closure and a way to hand it to C.
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts a thread running `body`.
    init(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let code = pthread_create(
            &thread,
            nil,
            { raw in
                // SAFETY: `raw` is the `Body` retained above; this thread takes that reference.
                let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
                body.run()
                return nil
            },
            context
        )
        precondition(code == 0, "pthread_create failed with error \(code)")
        handle = thread
    }

    /// Waits for the thread to end.
    func join() {
        #if canImport(Darwin)
        pthread_join(handle!, nil)
        #else
        pthread_join(handle, nil)
        #endif
    }
}
