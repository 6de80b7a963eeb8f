// Internal consistency checks of the byte views, compiled in only with
// `-Xswiftc -DARENA_INTERNAL_CHECKS` (`Scripts/test` runs the AddressSanitizer step that way);
// empty, and inlined away, otherwise.

extension BytesMut {
    /// Checks that the written bytes fit the writer's range, and the range its storage.
    @inlinable @inline(__always)
    func _invariantCheck() {
        #if ARENA_INTERNAL_CHECKS
        precondition(
            _count >= 0 && _count <= _region._count,
            "BytesMut: \(_count) bytes written in a range of \(_region._count)"
        )
        _region._invariantCheck()
        #endif
    }
}

extension Chain {
    /// Checks the chain's layout: the head is empty only when the chain is, no stored segment
    /// is empty, the consumed front of the tail is in bounds, and `count` is the sum of the
    /// segments. O(segments).
    @inlinable @inline(__always)
    func _invariantCheck() {
        #if ARENA_INTERNAL_CHECKS
        precondition(_tailStart >= 0 && _tailStart <= _tail.count, "Chain: tail start \(_tailStart) of \(_tail.count)")
        precondition(_head.isEmpty == (_count == 0), "Chain: head of \(_head.count) bytes, count \(_count)")
        var total = _head.count
        for segment in _tail[_tailStart...] {
            precondition(!segment.isEmpty, "Chain: an empty segment is stored")
            total += segment.count
        }
        precondition(total == _count, "Chain: segments hold \(total) bytes, count says \(_count)")
        #endif
    }
}
