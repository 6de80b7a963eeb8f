public import ArenaBytes

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

extension Data {
    /// A `Data` holding a copy of a view's bytes.
    ///
    /// The bytes are copied, never lent: `Data` writes in place when it holds the only
    /// reference to its storage, so a `Data` over the view's memory would let
    /// `var d = Data(view); d[0] = 0` change what `view` and every copy of it read.
    /// For a read-only look at the bytes without a copy, use `Bytes.withUnsafeBytes`.
    ///
    /// - Complexity: O(n).
    public init(_ bytes: Bytes) {
        self = bytes.withUnsafeBytes { Data($0) }
    }
}
