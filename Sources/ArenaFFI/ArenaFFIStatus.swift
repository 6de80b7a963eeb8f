/// The result of a C ABI call: `ok` or a negative error code, as `arena_status_t` in
/// `arena_ffi.h` (`ARENA_OK`, `ARENA_ERR_*`).
///
/// A struct rather than an enum, so codes can be added without breaking anyone's `switch`.
public struct ArenaFFIStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The C value: 0 or a negative code.
    public var rawValue: Int32

    /// Wraps a C status value.
    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// `ARENA_OK`: success.
    public static let ok = ArenaFFIStatus(rawValue: 0)
    /// `ARENA_ERR_NULL_HANDLE`: the handle was null.
    public static let nullHandle = ArenaFFIStatus(rawValue: -1)
    /// `ARENA_ERR_INVALID_HANDLE`: the handle is not live (released, or never handed out).
    public static let invalidHandle = ArenaFFIStatus(rawValue: -2)
    /// `ARENA_ERR_OUT_OF_BOUNDS`: a slice reaches past the end of the bytes.
    public static let outOfBounds = ArenaFFIStatus(rawValue: -3)
    /// `ARENA_ERR_NULL_ARGUMENT`: a required pointer was null.
    public static let nullArgument = ArenaFFIStatus(rawValue: -4)
    /// `ARENA_ERR_TOO_LARGE`: a length does not fit in an `Int`.
    public static let tooLarge = ArenaFFIStatus(rawValue: -5)
    /// `ARENA_ERR_ALLOCATION_FAILED`: the arena could not provide the memory.
    public static let allocationFailed = ArenaFFIStatus(rawValue: -6)

    /// What `arena_status_description` returns for this code.
    public var description: String { String(describing: staticDescription) }

    /// The description as a static, NUL-terminated string, so C can keep the pointer.
    var staticDescription: StaticString {
        switch self {
        case .ok: "ok"
        case .nullHandle: "null handle"
        case .invalidHandle: "invalid handle (released or unknown)"
        case .outOfBounds: "slice out of bounds"
        case .nullArgument: "null argument"
        case .tooLarge: "length too large"
        case .allocationFailed: "allocation failed"
        default: "unknown status"
        }
    }
}
