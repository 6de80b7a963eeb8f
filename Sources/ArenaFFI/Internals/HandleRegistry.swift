internal import ArenaBytes

/// Every live handle of the process, with the `Bytes` it keeps alive and its reference count.
///
/// A handle's value is a token from a counter, never an address, and tokens are never reused:
/// a handle released twice, or a stale copy of one, is simply not in the table, so it gets
/// `invalidHandle` instead of touching freed memory or, worse, releasing a newer handle that
/// happens to live at the same address (malloc hands a freed address straight back).
///
/// ### Locking
/// One lock (`Locked`, a pthread mutex) guards the table. Nothing is released under it: when a
/// handle's last reference goes, its entry leaves the table as a return value and its `Bytes`
/// dies after the lock is dropped, because that may run a foreign release callback, which may
/// call back into us.
struct HandleRegistry {
    /// What a handle holds.
    struct Entry {
        var bytes: Bytes
        /// References still to be released; the entry leaves the table when it reaches 0.
        var references: Int
    }

    private var entries: [UInt: Entry] = [:]
    /// The next token; handles are `token << tokenShift`, so they look like aligned pointers.
    private var nextToken: UInt = 1

    /// Handles are multiples of 16, like the addresses malloc returns.
    private static let tokenShift: UInt = 4

    /// The process-wide table.
    static let shared = Locked(HandleRegistry())

    /// The number of live handles.
    var count: Int { entries.count }

    /// Adds a handle on `bytes` with one reference and returns it.
    mutating func insert(_ bytes: Bytes) -> UInt {
        let handle = nextToken << Self.tokenShift
        nextToken += 1
        entries[handle] = Entry(bytes: bytes, references: 1)
        ForeignExportAccounting.exported(bytes)
        return handle
    }

    /// The bytes of a live handle.
    func bytes(of handle: UInt) -> Bytes? {
        entries[handle]?.bytes
    }

    /// Adds a reference to a live handle; false when it is not live.
    mutating func retain(_ handle: UInt) -> Bool {
        guard entries[handle] != nil else { return false }
        entries[handle]!.references += 1
        return true
    }

    /// What `release` did.
    enum Released {
        /// The handle is not live: nothing changed.
        case notLive
        /// One reference was dropped; others remain.
        case dropped
        /// The last reference was dropped and the handle is dead: drop these bytes outside the lock.
        case handleDied(Bytes)
    }

    /// Drops a reference to `handle`.
    mutating func release(_ handle: UInt) -> Released {
        guard let references = entries[handle]?.references else { return .notLive }
        if references > 1 {
            entries[handle]!.references = references - 1
            return .dropped
        }
        let bytes = entries.removeValue(forKey: handle)!.bytes
        ForeignExportAccounting.unexported(bytes)
        return .handleDied(bytes)
    }
}

/// Keeps each arena's count of live exported handles (`ArenaStatistics.liveForeignExports`) up
/// to date: a handle counts once in the arena its bytes came from, however many references it
/// has; imported foreign memory counts in the shared arena's.
enum ForeignExportAccounting {
    /// A handle on `bytes` was handed out.
    @inline(__always)
    static func exported(_ bytes: borrowing Bytes) {
        bytes.region.countForeignExport(1)
    }

    /// The last reference to a handle on `bytes` was released.
    @inline(__always)
    static func unexported(_ bytes: borrowing Bytes) {
        bytes.region.countForeignExport(-1)
    }
}
