/// Why a connection is not reading: the set of reasons an ``ArenaFramingHandler`` holds, of
/// which it turns `autoRead` off while any remains.
///
/// `autoRead` has one owner per connection, the framing handler, so two reasons to stop
/// reading (the arena short of memory, a client that does not read its replies) cannot undo
/// each other: reading resumes only when the last reason is gone.
///
/// ```swift
/// // In the request handler after the framing handler, which was given
/// // that handler (`framing`) at setup:
/// func channelWritabilityChanged(context: ChannelHandlerContext) {
///     if context.channel.isWritable {
///         framing.resumeReading(.writability)
///     } else {
///         framing.pauseReading(.writability)
///     }
///     context.fireChannelWritabilityChanged()
/// }
/// ```
///
/// ``memory`` is the handler's own; handlers after it pause for ``writability``, ``application``
/// or reasons of their own, made from bits 16 and above (`ReadPauseReasons(rawValue: 1 << 16)`).
public struct ReadPauseReasons: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The reasons as bits.
    public var rawValue: UInt32

    /// Creates a set from its bits.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// The arena is over its backpressure's high-water mark, or refused memory for a read: set
    /// and cleared by the framing handler alone.
    public static let memory = ReadPauseReasons(rawValue: 1 << 0)
    /// The channel is not writable: the peer does not read what the server writes.
    public static let writability = ReadPauseReasons(rawValue: 1 << 1)
    /// The application's own reason: a slow back end, a rate limit, a request being handled.
    public static let application = ReadPauseReasons(rawValue: 1 << 2)

    /// The reasons by name, custom ones by bit: `[memory, writability]`.
    public var description: String {
        var names: [String] = []
        for bit in 0..<32 where rawValue & (1 << bit) != 0 {
            switch bit {
            case 0: names.append("memory")
            case 1: names.append("writability")
            case 2: names.append("application")
            default: names.append("bit \(bit)")
            }
        }
        return "[" + names.joined(separator: ", ") + "]"
    }
}
