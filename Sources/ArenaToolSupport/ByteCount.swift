// Byte counts for people: parsing `64K` and formatting `1.5 MiB`, without Foundation.

/// Parses a byte count: digits with an optional binary suffix, `K`, `M` or `G` (also `KiB`,
/// `KB`, …): `4096`, `64K`, `1M`.
///
/// - Parameter what: names the value in the error, e.g. `"limit"`.
/// - Throws: ``UsageError`` naming `what` and the text.
package func parseByteCount(_ text: String, what: String) throws(UsageError) -> Int {
    let trimmed = text.trimmingSpaces
    if trimmed.hasPrefix("-") { throw UsageError("negative \(what) '\(text)'") }
    var digits = Substring(trimmed)
    var multiplier = 1
    let suffixes: [(String, Int)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30),
        ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("k", 1 << 10), ("B", 1),
    ]
    for (suffix, factor) in suffixes where digits.hasSuffix(suffix) {
        digits = digits.dropLast(suffix.count)
        multiplier = factor
        break
    }
    guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = Int(digits) else {
        throw UsageError("\(what) '\(text)' is not a byte count (digits with an optional K, M or G)")
    }
    let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
    guard !overflow else { throw UsageError("\(what) '\(text)' is too large") }
    return product
}

/// A byte count in binary units with one decimal: `512 B`, `64.0 KiB`, `-1.5 MiB`.
package func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = Double(bytes.magnitude)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    let sign = bytes < 0 ? "-" : ""
    if unit == 0 { return "\(sign)\(bytes.magnitude) B" }
    return "\(sign)\(formatFixed(value, digits: 1)) \(units[unit])"
}

/// `value` with exactly `digits` decimals, rounding half away from zero, without Foundation
/// or a locale: `formatFixed(0.2615, digits: 1)` is `"0.3"`.
package func formatFixed(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    var scale = 1.0
    for _ in 0..<max(0, digits) { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return String(value) }
    let units = Int(scaled)
    let sign = value < 0 && units != 0 ? "-" : ""
    let whole = units / Int(scale)
    guard digits > 0 else { return sign + String(whole) }
    var fraction = String(units % Int(scale))
    fraction = String(repeating: "0", count: digits - fraction.count) + fraction
    return sign + String(whole) + "." + fraction
}

extension StringProtocol {
    /// The text without leading and trailing spaces.
    package var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

extension Character {
    /// Whether this is one of `0`-`9`.
    package var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
