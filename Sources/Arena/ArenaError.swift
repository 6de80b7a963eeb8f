/// Why an arena could not do what was asked.
///
/// Allocation failures are recoverable: the throwing forms (`allocate`, `BytesMut.make`,
/// `tryReserveCapacity`) throw one of these and leave every existing view intact.
/// New cases may be added; do not switch over this type exhaustively without a `default`.
public enum ArenaError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The request would take the arena past its byte limit.
    ///
    /// - Parameters:
    ///   - requested: the bytes the arena would have had to reserve from the system.
    ///   - limit: the arena's limit.
    ///   - inUse: the bytes the arena held at the time.
    case limitExceeded(requested: Int, limit: Int, inUse: Int)

    /// The system allocator returned no memory for `requested` bytes.
    case outOfMemory(requested: Int)

    /// An `ArenaAllocator.Configuration` that cannot work, with the reason.
    case invalidConfiguration(String)

    /// A jemalloc control call (`mallctl`) failed: `code` is the `errno` value it returned
    /// (`ENOENT` for an unknown name, `EINVAL` for a value of the wrong size, …).
    case jemalloc(name: String, code: Int32)

    /// A one-line explanation naming the figures involved.
    public var description: String {
        switch self {
        case let .limitExceeded(requested, limit, inUse):
            return "arena limit exceeded: \(requested) bytes requested with \(inUse) of \(limit) bytes in use"
        case let .outOfMemory(requested):
            return "out of memory: the system allocator refused \(requested) bytes"
        case let .invalidConfiguration(reason):
            return "invalid arena configuration: \(reason)"
        case let .jemalloc(name, code):
            return "jemalloc mallctl(\"\(name)\") failed: \(Self.errnoName(code))"
        }
    }

    private static func errnoName(_ code: Int32) -> String {
        switch code {
        case 2: return "ENOENT (no such name)"
        case 22: return "EINVAL (wrong value size or invalid value)"
        case 1: return "EPERM (not writable)"
        case 11: return "EAGAIN (resource exhausted)"
        case 14: return "EFAULT (internal error)"
        case 12: return "ENOMEM (out of memory)"
        default: return "error \(code)"
        }
    }
}
