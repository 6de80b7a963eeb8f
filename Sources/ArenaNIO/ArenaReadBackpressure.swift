public import Arena
import Synchronization

/// Read backpressure on an arena's memory, shared by every ``ArenaFramingHandler`` receiving
/// into that arena: when the arena's reserved bytes pass the high-water mark, each connection
/// stops reading (`autoRead` off) at its next read; when they fall below the low-water mark,
/// the paused connections resume.
///
/// ```swift
/// let arena = try ArenaAllocator(
///     .init(name: "requests", limit: 256 << 20)
/// )
/// let backpressure = ArenaReadBackpressure(
///     arena: arena,
///     high: .fractionOfLimit(0.75),
///     low: .fractionOfLimit(0.5)
/// )
/// // One handler per connection, all with the same `backpressure`:
/// ArenaFramingHandler(
///     decoder: decoder,
///     arena: arena,
///     maxBufferedBytes: 1 << 20,
///     backpressure: backpressure
/// )
/// ```
///
/// A server under a memory squeeze thus slows its readers instead of failing requests: the
/// frames already received are handled, their memory goes back, and reading goes on.
///
/// ### How the connections learn
/// The object is a small registry: a flag that says the arena is over its high mark (set by the
/// first handler to see it over, cleared by the first to see it under the low mark) and counters.
/// An arena cannot call back when a frame dies, so a paused handler checks on a timer of its own
/// event loop (``checkInterval``), and a reading one checks after each read: one relaxed atomic
/// load of `ArenaAllocator.bytesReserved` each time.
public final class ArenaReadBackpressure: Sendable {
    /// Where a water mark lies.
    public enum Watermark: Sendable, Hashable {
        /// A number of reserved bytes.
        case bytes(Int)
        /// A fraction of the arena's limit, from 0 to 1; the arena must have a limit.
        case fractionOfLimit(Double)
    }

    /// The arena whose reserved bytes are watched.
    public let arena: ArenaAllocator
    /// Reading pauses when the arena's reserved bytes are above this many.
    public let highWatermark: Int
    /// Paused reading resumes when the arena's reserved bytes are below this many.
    public let lowWatermark: Int
    /// How often a paused connection checks whether it may resume.
    public let checkInterval: Duration

    private let over = Atomic<Bool>(false)
    private let paused = Atomic<Int>(0)
    private let pauseCount = Atomic<Int>(0)
    private let resumeCount = Atomic<Int>(0)

    /// Creates the backpressure of `arena`; share it among the handlers that receive into it.
    ///
    /// - Parameters:
    ///   - arena: the arena whose reserved bytes are watched.
    ///   - high: above this, reading pauses; 75% of the limit by default.
    ///   - low: below this, reading resumes; 50% of the limit by default.
    ///   - checkInterval: how often a paused connection checks; 5 ms by default.
    /// - Precondition: `low <= high`; a fraction needs an arena with a limit.
    public init(
        arena: ArenaAllocator,
        high: Watermark = .fractionOfLimit(0.75),
        low: Watermark = .fractionOfLimit(0.5),
        checkInterval: Duration = .milliseconds(5)
    ) {
        func resolve(_ mark: Watermark) -> Int {
            switch mark {
            case .bytes(let count):
                return count
            case .fractionOfLimit(let fraction):
                guard let limit = arena.configuration.limit else {
                    preconditionFailure(
                        "ArenaReadBackpressure: a fraction of the limit, but arena '\(arena.configuration.name)' has none"
                    )
                }
                precondition(
                    fraction >= 0 && fraction <= 1,
                    "ArenaReadBackpressure: fraction \(fraction) outside 0...1"
                )
                return Int(Double(limit) * fraction)
            }
        }
        self.arena = arena
        self.highWatermark = resolve(high)
        self.lowWatermark = resolve(low)
        self.checkInterval = checkInterval
        precondition(
            lowWatermark <= highWatermark,
            "ArenaReadBackpressure: low-water mark \(lowWatermark) above high-water mark \(highWatermark)"
        )
    }

    /// Whether the arena went over the high mark and has not yet fallen below the low mark.
    public var isOverHighWatermark: Bool { over.load(ordering: .relaxed) }

    /// The connections paused now.
    public var pausedConnections: Int { paused.load(ordering: .relaxed) }

    /// How many times a connection has paused, since the start.
    public var pauses: Int { pauseCount.load(ordering: .relaxed) }

    /// How many times a paused connection has resumed, since the start.
    public var resumes: Int { resumeCount.load(ordering: .relaxed) }

    /// Whether a reading connection should pause: the arena is over the high mark, or was and
    /// has not fallen below the low mark yet.
    ///
    /// - Complexity: O(1), one or two relaxed atomic loads.
    func shouldPause() -> Bool {
        if over.load(ordering: .relaxed) { return true }
        guard arena.bytesReserved > highWatermark else { return false }
        over.store(true, ordering: .relaxed)
        return true
    }

    /// Whether a paused connection may resume: the arena is below the low mark, not counting
    /// the `ownBytes` the connection's own receive buffer holds (else a buffer larger than the
    /// low mark would keep its connection paused for ever). Cached chunks and blocks count in
    /// the arena's reserved bytes, so they go first when only they are in the way.
    func mayResume(ownBytes: Int) -> Bool {
        if arena.bytesReserved - ownBytes >= lowWatermark {
            guard arena.dropCaches() > 0, arena.bytesReserved - ownBytes < lowWatermark else { return false }
        }
        over.store(false, ordering: .relaxed)
        return true
    }

    func connectionPaused() {
        paused.add(1, ordering: .relaxed)
        pauseCount.add(1, ordering: .relaxed)
    }

    func connectionResumed(counted: Bool = true) {
        paused.subtract(1, ordering: .relaxed)
        if counted { resumeCount.add(1, ordering: .relaxed) }
    }
}
