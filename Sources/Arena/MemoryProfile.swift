/// Where an arena's live memory was allocated, estimated from sampled regions: per allocation
/// site, the sampled regions still alive, the bytes they stand for and the bytes they pin.
///
/// Sampling is on when the arena's ``ArenaAllocator/Configuration/sampleInterval`` is set, or
/// the environment variable `ARENA_SAMPLE_INTERVAL` gives one; ``ArenaAllocator/memoryProfile()``
/// reads it. On average one region per `sampleInterval` bytes allocated is sampled, the way
/// jemalloc's `lg_prof_sample` works: a region of `s` bytes is sampled with probability
/// `p = 1 - exp(-s / sampleInterval)` and stands for `1 / p` regions like it, which gives
/// unbiased estimates of live and pinned bytes.
///
/// ### Sites
/// A site is the first function on the allocating thread's stack outside the package's library
/// modules, demangled. Return addresses are recorded when a region is sampled and named only
/// when a profile is taken: the image from `dladdr`, the function from the image's ELF symbol
/// table (so an executable's own functions are named without `--export-dynamic`), else from
/// its dynamic symbols; a stripped image shows as its name and an offset. There are no file
/// and line numbers (that needs DWARF). Mark functions you want to tell apart `@inline(never)`:
/// code the optimizer inlines counts as its caller's.
///
/// ### Pinned bytes
/// A sampled region in a pinned chunk (see ``ArenaStatistics``) pins the chunk's size divided by
/// the references that keep the chunk alive; the site's ``Site/estimatedPinnedBytes`` sums
/// that share over its sampled regions, each times `1 / p`.
public struct MemoryProfile: Sendable, Codable, Equatable {
    /// The arena's configured name.
    public var arenaName: String
    /// The mean bytes between two samples, or `nil` when sampling is off (the profile is empty).
    public var sampleInterval: Int?
    /// The sampled regions still alive, over all sites.
    public var sampledRegions: Int
    /// The sites with live sampled regions, the most pinned bytes first (then the most live bytes).
    public var sites: [Site]

    /// Creates a profile; ``ArenaAllocator/memoryProfile()`` fills it in.
    ///
    /// - Complexity: O(1).
    public init(arenaName: String, sampleInterval: Int?, sampledRegions: Int, sites: [Site]) {
        self.arenaName = arenaName
        self.sampleInterval = sampleInterval
        self.sampledRegions = sampledRegions
        self.sites = sites
    }

    /// One allocation site and its live sampled regions.
    public struct Site: Sendable, Codable, Equatable {
        /// The function that allocated: demangled, or the image and an offset without a symbol.
        public var function: String
        /// The file name of the image (executable or library) the function is in.
        public var image: String
        /// The sampled regions from this site still alive.
        public var sampledRegions: Int
        /// The bytes of live regions from this site, estimated from the samples.
        public var estimatedLiveBytes: Int
        /// The bytes of pinned chunks that live regions from this site keep alive, estimated.
        public var estimatedPinnedBytes: Int

        /// Creates a site's figures.
        ///
        /// - Complexity: O(1).
        public init(
            function: String,
            image: String,
            sampledRegions: Int = 0,
            estimatedLiveBytes: Int = 0,
            estimatedPinnedBytes: Int = 0
        ) {
            self.function = function
            self.image = image
            self.sampledRegions = sampledRegions
            self.estimatedLiveBytes = estimatedLiveBytes
            self.estimatedPinnedBytes = estimatedPinnedBytes
        }
    }
}
