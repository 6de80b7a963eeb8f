/// Arithmetic on figures read from input that never traps: a sum or product that does not fit
/// 64 bits becomes the largest (or smallest) value, and the figure is named in ``figures``, so a
/// report can mark it as saturated rather than show it as exact.
///
/// jemalloc's counters fit their types, but a dump can be edited, corrupted or made up: a
/// `pactive` near `Int64.max` times the page size must not end the process.
package struct Saturation: Sendable, Equatable {
    /// The figures that saturated, in the order met, each once.
    package private(set) var figures: [String] = []

    /// No figure saturated yet.
    package init() {}

    /// Whether any figure saturated.
    package var isEmpty: Bool { figures.isEmpty }

    /// Names `figure` as saturated (once).
    package mutating func mark(_ figure: String) {
        if !figures.contains(figure) { figures.append(figure) }
    }

    /// Adds the figures of `other`.
    package mutating func merge(_ other: Saturation) {
        for figure in other.figures { mark(figure) }
    }

    /// `a + b`, or `Int.max` / `Int.min` when it overflows (and `figure` is marked).
    package mutating func sum(_ a: Int, _ b: Int, _ figure: @autoclosure () -> String) -> Int {
        let (result, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return result }
        mark(figure())
        return b < 0 ? .min : .max
    }

    /// `a - b`, or `Int.max` / `Int.min` when it overflows (and `figure` is marked).
    package mutating func difference(_ a: Int, _ b: Int, _ figure: @autoclosure () -> String) -> Int {
        let (result, overflow) = a.subtractingReportingOverflow(b)
        guard overflow else { return result }
        mark(figure())
        return b > 0 ? .min : .max
    }

    /// `a × b`, or `Int.max` / `Int.min` when it overflows (and `figure` is marked).
    package mutating func product(_ a: Int, _ b: Int, _ figure: @autoclosure () -> String) -> Int {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        guard overflow else { return result }
        mark(figure())
        return (a < 0) != (b < 0) ? .min : .max
    }

    /// `a + b`, or `UInt64.max` when it overflows (and `figure` is marked).
    package mutating func sum(_ a: UInt64, _ b: UInt64, _ figure: @autoclosure () -> String) -> UInt64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return result }
        mark(figure())
        return .max
    }
}

extension Int {
    /// `self + other`, or `Int.max` / `Int.min` when it overflows: for figures whose
    /// saturation is recorded elsewhere.
    package func saturatingAdd(_ other: Int) -> Int {
        var saturation = Saturation()
        return saturation.sum(self, other, "")
    }

    /// `self - other`, or `nil` when it overflows.
    package func checkedSubtract(_ other: Int) -> Int? {
        let (result, overflow) = subtractingReportingOverflow(other)
        return overflow ? nil : result
    }
}
