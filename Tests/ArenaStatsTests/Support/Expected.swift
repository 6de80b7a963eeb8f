import Foundation
import Testing

/// The figures a report should show, computed straight from a dump with `JSONSerialization`:
/// a walk that shares no code with ArenaStatsKit, so a bug in the tool cannot hide in both.
struct Expected {
    struct SizeClass: Equatable {
        var index: Int
        var size: Int?
        var regionsPerSlab: Int?
        var regionsInUse: Int
        var slabs: Int
        var utilization: Double?
        var wastedBytes: Int?
    }

    struct Arena: Equatable {
        var key: String
        var smallAllocated: Int?
        var largeAllocated: Int?
        var active: Int?
    }

    var version: String?
    var totals: [String: Int] = [:]
    var fragmentation: Double?
    var allocatedToResident: Double?
    var arenas: [Arena] = []
    var scope: String?
    var sizeClasses: [SizeClass] = []
    var largeClasses: [(index: Int, count: Int, bytes: Int?)] = []
    var topWasters: [Int] = []

    init(dump: [UInt8]) throws {
        let top = try #require(try JSONSerialization.jsonObject(with: Data(dump)) as? [String: Any])
        let root = try #require(top["jemalloc"] as? [String: Any])
        func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
        func object(_ value: Any?) -> [String: Any]? { value as? [String: Any] }

        version = root["version"] as? String
        let general = object(root["arenas"])
        let page = int(general?["page"])
        let bins = (general?["bin"] as? [[String: Any]]) ?? []
        let lextents = (general?["lextent"] as? [[String: Any]]) ?? []

        if let stats = object(root["stats"]) {
            for name in ["allocated", "active", "metadata", "resident", "mapped", "retained"] {
                totals[name] = int(stats[name])
            }
            if let allocated = totals["allocated"], let active = totals["active"], active > 0 {
                fragmentation = 1 - Double(allocated) / Double(active)
            }
            if let allocated = totals["allocated"], let resident = totals["resident"], resident > 0 {
                allocatedToResident = Double(allocated) / Double(resident)
            }
        }

        let arenaObjects = object(root["stats.arenas"]) ?? [:]
        func order(_ key: String) -> (Int, Int) {
            key == "merged" ? (0, 0) : key == "destroyed" ? (1, 0) : (2, Int(key) ?? -1)
        }
        let keys = arenaObjects.keys.sorted { order($0) < order($1) }
        for key in keys {
            let arena = object(arenaObjects[key])!
            arenas.append(
                Arena(
                    key: key,
                    smallAllocated: int(object(arena["small"])?["allocated"]),
                    largeAllocated: int(object(arena["large"])?["allocated"]),
                    active: int(arena["pactive"]).flatMap { pages in page.map { pages * $0 } }
                )
            )
        }

        // Merged if listed, else the only arena, else the sum of all listed.
        var scopeKeys: [String]
        if arenaObjects["merged"] != nil {
            scope = "merged"
            scopeKeys = ["merged"]
        } else if keys.count == 1 {
            scope = Int(keys[0]) != nil ? "arena \(keys[0])" : keys[0]
            scopeKeys = keys
        } else if !keys.isEmpty {
            scope = "sum of arenas " + keys.joined(separator: ", ")
            scopeKeys = keys
        } else {
            scopeKeys = []
        }
        var regions: [Int: Int] = [:]
        var slabs: [Int: Int] = [:]
        var large: [Int: Int] = [:]
        for key in scopeKeys {
            let arena = object(arenaObjects[key])!
            for (index, bin) in ((arena["bins"] as? [[String: Any]]) ?? []).enumerated() {
                regions[index, default: 0] += int(bin["curregs"])!
                slabs[index, default: 0] += int(bin["curslabs"])!
            }
            for (index, lextent) in ((arena["lextents"] as? [[String: Any]]) ?? []).enumerated() {
                large[index, default: 0] += int(lextent["curlextents"])!
            }
        }
        for index in slabs.keys.sorted() where slabs[index]! > 0 {
            let size = index < bins.count ? int(bins[index]["size"]) : nil
            let perSlab = index < bins.count ? int(bins[index]["nregs"]) : nil
            let capacity = perSlab.map { $0 * slabs[index]! }
            sizeClasses.append(
                SizeClass(
                    index: index,
                    size: size,
                    regionsPerSlab: perSlab,
                    regionsInUse: regions[index]!,
                    slabs: slabs[index]!,
                    utilization: capacity.map { Double(regions[index]!) / Double($0) },
                    wastedBytes: capacity.flatMap { capacity in size.map { (capacity - regions[index]!) * $0 } }
                )
            )
        }
        for index in large.keys.sorted() where large[index]! > 0 {
            let size = index < lextents.count ? int(lextents[index]["size"]) : nil
            largeClasses.append((index, large[index]!, size.map { $0 * large[index]! }))
        }
        topWasters = sizeClasses.filter { ($0.wastedBytes ?? 0) > 0 }
            .sorted { ($0.wastedBytes!, -$0.index) > ($1.wastedBytes!, -$1.index) }
            .prefix(5).map(\.index)
    }
}

/// Whether two ratios agree to rounding.
func close(_ a: Double?, _ b: Double?) -> Bool {
    switch (a, b) {
    case (nil, nil): true
    case (let a?, let b?): abs(a - b) < 1e-12
    default: false
    }
}
