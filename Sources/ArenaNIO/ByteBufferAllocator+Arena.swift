public import Arena
@_spi(CustomByteBufferAllocator) public import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ArenaAllocator {
    /// The process-wide arena behind ``NIOCore/ByteBufferAllocator/arena``: NIO's own buffers,
    /// in a jemalloc arena of their own, so its statistics show them (jemalloc's figures; the
    /// blocks are malloc-style, outside our chunk counters and without a limit, since NIO
    /// cannot handle a failed allocation).
    public static let nio: ArenaAllocator = {
        do {
            return try ArenaAllocator(.init(name: "nio"))
        } catch {
            fatalError("cannot create the NIO arena: \(error)")
        }
    }()
}

extension ByteBufferAllocator {
    /// A `ByteBufferAllocator` whose buffers come from ``Arena/ArenaAllocator/nio``, a dedicated
    /// jemalloc arena.
    ///
    /// ```swift
    /// let bootstrap = ServerBootstrap(group: group)
    ///     .childChannelOption(.allocator, .arena)
    /// ```
    ///
    /// Built on NIO's `@_spi(CustomByteBufferAllocator)` initializer: C-convention allocate,
    /// reallocate, deallocate and copy functions, which route to the arena with
    /// `mallocx`/`rallocx`/`dallocx` and its arena flag.
    public static let arena = ByteBufferAllocator(
        allocate: { size in ArenaAllocator.nio.core.rawAllocate(size) },
        reallocate: { pointer, _, newSize in ArenaAllocator.nio.core.rawReallocate(pointer, to: newSize) },
        deallocate: { pointer in ArenaAllocator.nio.core.rawDeallocate(pointer) },
        copy: { destination, source, count in _ = memcpy(destination, source, count) }
    )
}
