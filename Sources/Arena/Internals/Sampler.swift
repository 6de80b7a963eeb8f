internal import CArenaRuntime
import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

// Sampled allocation sites (`ArenaAllocator.Configuration.sampleInterval`): on average one
// region per `interval` bytes is tracked, the way jemalloc's `lg_prof_sample` works. A byte
// countdown, drawn from an exponential distribution, decides: the allocation that takes it
// past zero is sampled, whatever its size, so a region of `s` bytes is sampled with
// probability `1 - exp(-s / interval)` and stands for `1 / that` regions like it.
//
// A sampled region gets a storage of its own, a `SampledStorage` wrapping the real one (the
// chunk or block it was carved from). Its views keep the wrapper alive and the wrapper keeps
// the real storage alive; the wrapper's deinit is the sampled region's death. Nothing of this
// is on the allocation path when sampling is off: `ArenaCore.allocate` tests whether the arena
// has a sampler (a `let`), and with one, subtracts from one atomic countdown.

/// One arena's sampling state: the countdown, the live samples and their call sites.
final class Sampler: @unchecked Sendable {
    /// The mean bytes between two samples.
    let interval: Int
    /// Bytes left until the next sample; the allocation that takes it to 0 or below is sampled.
    let countdown: Atomic<Int>

    struct Sample {
        /// Return addresses of the allocating thread, innermost first.
        var frames: [UInt]
        var byteCount: Int
        /// The real storage, kept alive by the sample's wrapper while the sample is listed.
        var storage: Unmanaged<RegionStorage>
    }

    struct State {
        var random: SplitMix64
        var nextIdentifier: UInt64 = 0
        var live: [UInt64: Sample] = [:]
        /// Symbolicated return addresses, filled at profile time.
        var symbols: [UInt: FrameSymbol] = [:]
    }

    /// `Locked`, not `Mutex`: ThreadSanitizer sees the ordering of pthread mutexes only.
    let state: Locked<State>

    init(interval: Int, seed: UInt64) {
        self.interval = interval
        var random = SplitMix64(seed: seed)
        let first = Self.exponential(mean: interval, random: &random)
        self.countdown = Atomic(first)
        self.state = Locked(State(random: random))
    }

    /// The interval `ARENA_SAMPLE_INTERVAL` sets (bytes, a positive decimal), if any.
    static let environmentInterval: Int? = {
        guard let text = getenv("ARENA_SAMPLE_INTERVAL").map({ String(cString: $0) }),
            let interval = Int(text), interval > 0
        else { return nil }
        return interval
    }()

    /// A seed for arenas that name none.
    static func randomSeed() -> UInt64 { UInt64.random(in: 0...UInt64.max) }

    /// Counts `byteCount` bytes against the countdown; `true` when this allocation is sampled
    /// (it took the countdown from above zero to zero or below).
    ///
    /// A relaxed load and store, not an atomic subtraction: the read-modify-write cost three
    /// times a 64-byte allocation on our machines (63 against 22 ns in `Scripts/bench`). Two
    /// threads counting at once may lose one's bytes or both take a sample; sampling is a
    /// statistical estimate, and `record` sets the countdown anew under the lock.
    @inline(__always)
    func shouldSample(_ byteCount: Int) -> Bool {
        let left = countdown.load(ordering: .relaxed) &- byteCount
        countdown.store(left, ordering: .relaxed)
        return left <= 0 && left &+ byteCount > 0
    }

    /// Records a sampled region of `byteCount` bytes in `storage`, allocated by the calling
    /// thread, and rewinds the countdown; returns the sample's identifier.
    func record(byteCount: Int, storage: RegionStorage) -> UInt64 {
        var buffer = [UnsafeMutableRawPointer?](repeating: nil, count: 32)
        let depth = buffer.withUnsafeMutableBufferPointer { pointer in
            Int(CArenaRuntime_backtrace(pointer.baseAddress, Int32(pointer.count)))
        }
        let frames = buffer.prefix(depth).map { UInt(bitPattern: $0) }
        return state.withLock { state in
            countdown.store(Self.exponential(mean: interval, random: &state.random), ordering: .relaxed)
            let identifier = state.nextIdentifier
            state.nextIdentifier += 1
            state.live[identifier] = Sample(
                frames: frames,
                byteCount: byteCount,
                storage: Unmanaged.passUnretained(storage)
            )
            return identifier
        }
    }

    /// Forgets a sample whose region died.
    func remove(_ identifier: UInt64) {
        state.withLock { _ = $0.live.removeValue(forKey: identifier) }
    }

    /// The live samples, grouped by allocation site, with their estimates.
    func profile(arenaName: String) -> MemoryProfile {
        state.withLock { state in
            Self.symbolicate(Set(state.live.values.flatMap(\.frames)), into: &state.symbols)
            var sites: [String: MemoryProfile.Site] = [:]
            for sample in state.live.values {
                let site = Self.site(of: sample.frames, symbols: &state.symbols)
                let size = Double(sample.byteCount)
                let probability = -expm1(-size / Double(interval))
                let weight = probability > 0 ? 1 / probability : 1
                // SAFETY: the sample's wrapper keeps the storage alive while it is listed, and
                // it unlists itself (under this lock) before letting the storage go.
                let pinned = sample.storage._withUnsafeGuaranteedRef { storage -> Double in
                    guard storage.kind == .chunk,
                        unsafeDowncast(storage, to: Chunk.self).isRetired.load(ordering: .relaxed),
                        let references = swiftStrongReferences(sample.storage.toOpaque()), references > 0
                    else { return 0 }
                    return Double(storage.capacity) / Double(references)
                }
                let key = site.function + "\u{0}" + site.image
                var entry = sites[key] ?? MemoryProfile.Site(function: site.function, image: site.image)
                entry.sampledRegions += 1
                entry.estimatedLiveBytes += Int((size * weight).rounded())
                entry.estimatedPinnedBytes += Int((pinned * weight).rounded())
                sites[key] = entry
            }
            let ordered = sites.values.sorted {
                ($0.estimatedPinnedBytes, $0.estimatedLiveBytes, $0.function)
                    > ($1.estimatedPinnedBytes, $1.estimatedLiveBytes, $1.function)
            }
            return MemoryProfile(
                arenaName: arenaName,
                sampleInterval: interval,
                sampledRegions: state.live.count,
                sites: ordered
            )
        }
    }

    // MARK: - Symbols

    struct FrameSymbol {
        /// The mangled symbol, if the image exports one.
        var mangled: String?
        /// The demangled function (or the mangled name, or the address when there is none).
        var function: String
        /// The image's file name.
        var image: String
    }

    /// The first frame after the innermost run of frames in the package's library modules
    /// (`Arena`, `ArenaBytes`, `ArenaNIO`, `ArenaFFI`, and the standard library's generic
    /// helpers they call): the code that asked for the memory. Frames before that run (the C
    /// library's `backtrace`, a sanitizer's interceptor) are never the site, and neither are
    /// library frames further out: a server's handler called by `ArenaFramingHandler` is the
    /// site of what it allocates, not NIO's pipeline that called the framing handler.
    static func site(of frames: [UInt], symbols: inout [UInt: FrameSymbol]) -> FrameSymbol {
        func mangled(_ address: UInt) -> String? { symbols[address]?.mangled }
        func isLibrary(_ address: UInt) -> Bool {
            guard let name = mangled(address) else { return false }
            return libraryPrefixes.contains { name.hasPrefix($0) }
        }
        func isLibraryOrStandard(_ address: UInt) -> Bool {
            // The standard library's entities mangle as `$ss…`, its known types as `$sS…`; its
            // thunks may have no symbol at all, but they live in libswiftCore.
            guard let symbol = symbols[address] else { return false }
            if symbol.image.contains("libswiftCore.") { return true }
            guard let name = symbol.mangled else { return false }
            return isLibrary(address) || name.hasPrefix("$ss") || name.hasPrefix("$sS")
        }
        var firstCaller = 0
        if let start = frames.firstIndex(where: isLibrary) {
            firstCaller = start
            while firstCaller < frames.count && isLibraryOrStandard(frames[firstCaller]) { firstCaller += 1 }
        }
        var fallback: FrameSymbol?
        for address in frames[firstCaller...] {
            guard let symbol = symbols[address] else { continue }
            if fallback == nil { fallback = symbol }
            if symbol.mangled != nil { return symbol }
        }
        return fallback ?? FrameSymbol(mangled: nil, function: "<unknown>", image: "")
    }

    /// Mangled-name prefixes of the library modules, whose frames are never the site.
    static let libraryPrefixes = ["$s5Arena", "$s10ArenaBytes", "$s8ArenaNIO", "$s8ArenaFFI"]

    /// Symbolicates the return addresses not in `symbols` yet: the image from `dladdr`, the
    /// function from the image's ELF symbol table, else from `dladdr`'s dynamic symbol.
    ///
    /// The corresponding C call is `dladdr(address - 1, &info)`; Swift names are demangled by
    /// the runtime's `swift_demangle`.
    static func symbolicate(_ addresses: Set<UInt>, into symbols: inout [UInt: FrameSymbol]) {
        struct Located {
            var address: UInt
            var path: String
            var base: UInt
            var dynamicName: String?
        }
        var byImage: [String: [Located]] = [:]
        for address in addresses where symbols[address] == nil {
            var file: UnsafePointer<CChar>?
            var imageBase: UnsafeMutableRawPointer?
            var symbol: UnsafePointer<CChar>?
            guard address > 0, let pointer = UnsafeRawPointer(bitPattern: address - 1),
                CArenaRuntime_dladdr(pointer, &file, &imageBase, &symbol) != 0, let file
            else {
                symbols[address] = FrameSymbol(mangled: nil, function: "0x" + String(address, radix: 16), image: "")
                continue
            }
            let path = String(cString: file)
            byImage[path, default: []].append(
                Located(
                    address: address,
                    path: path,
                    base: UInt(bitPattern: imageBase),
                    dynamicName: symbol.map { String(cString: $0) }
                )
            )
        }
        for (path, located) in byImage {
            let image = String(path.split(separator: "/").last ?? Substring(path))
            let names = ElfSymbols.functionNames(
                of: located.map { $0.address - 1 },
                inImageAt: path,
                base: located[0].base
            )
            for entry in located {
                guard let mangled = names[entry.address - 1] ?? entry.dynamicName else {
                    let offset = entry.address - entry.base
                    symbols[entry.address] = FrameSymbol(
                        mangled: nil,
                        function: "\(image)+0x" + String(offset, radix: 16),
                        image: image
                    )
                    continue
                }
                symbols[entry.address] = FrameSymbol(mangled: mangled, function: demangle(mangled), image: image)
            }
        }
    }

    /// The demangled form of a Swift symbol; other names as they are.
    static func demangle(_ mangled: String) -> String {
        mangled.withCString { name in
            guard let demangled = CArenaRuntime_swift_demangle(name, strlen(name)) else { return mangled }
            defer { free(demangled) }
            return String(cString: demangled)
        }
    }

    // MARK: - Random countdowns

    /// An exponentially distributed byte count of mean `mean`, at least 1.
    static func exponential(mean: Int, random: inout SplitMix64) -> Int {
        // A uniform value in (0, 1].
        let uniform = (Double(random.next() >> 11) + 1) / Double(1 << 53)
        let draw = -log(uniform) * Double(mean)
        return max(1, Int(min(draw, Double(Int.max / 2))))
    }
}

/// The storage of a sampled region: the real storage (a chunk or a block) plus the sample's
/// identifier. Views of the sampled region keep it alive; its deinit is the region's death.
final class SampledStorage: RegionStorage, @unchecked Sendable {
    let inner: RegionStorage
    let sampler: Sampler
    let identifier: UInt64

    init(inner: RegionStorage, sampler: Sampler, identifier: UInt64) {
        self.inner = inner
        self.sampler = sampler
        self.identifier = identifier
        super.init(kind: .foreign, core: inner.core, base: inner.base, capacity: inner.capacity)
    }

    deinit {
        sampler.remove(identifier)
    }
}

extension ArenaCore {
    /// `allocate` for a sampled request: the region, wrapped so that its death is noticed.
    @inline(never)
    func allocateSampled(byteCount: Int, alignment: Int, sampler: Sampler) throws(ArenaError) -> Region {
        let region = try allocateUnsampled(byteCount: byteCount, alignment: alignment)
        let identifier = sampler.record(byteCount: byteCount, storage: region.storage)
        let storage = SampledStorage(inner: region.storage, sampler: sampler, identifier: identifier)
        return Region(storage: storage, start: region.start, count: region.count)
    }

    /// The sampled regions still alive, by allocation site; empty when sampling is off.
    func memoryProfile() -> MemoryProfile {
        sampler?.profile(arenaName: name)
            ?? MemoryProfile(arenaName: name, sampleInterval: nil, sampledRegions: 0, sites: [])
    }
}
