public import ArenaBytes

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

extension Data {
    /// A `Data` over a view's bytes, without copying where Foundation allows (it keeps 14
    /// bytes or fewer inline, copied); the view's memory lives until the `Data` is gone.
    ///
    /// - Complexity: O(1), or O(n) for n <= 14.
    public init(_ bytes: Bytes) {
        guard !bytes.isEmpty else {
            self.init()
            return
        }
        let base = UnsafeMutableRawPointer(mutating: bytes.region.baseAddress)
        self.init(
            bytesNoCopy: base,
            count: bytes.count,
            deallocator: .custom { _, _ in withExtendedLifetime(bytes) {} }
        )
    }
}
