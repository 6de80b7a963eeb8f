#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

// Function names from an image's ELF symbol table (`.symtab`), for the frames of a memory
// profile: `dladdr` sees only the dynamic symbol table, which an executable does not export
// unless it is linked with `--export-dynamic`, and which names the nearest *exported* symbol
// for a frame inside a hidden function. Read at profile time only.

enum ElfSymbols {
    /// The function names of `addresses` (run-time return addresses, minus one) in the image at
    /// `path`, loaded at `base`; addresses with no function symbol are missing from the result.
    ///
    /// The corresponding C calls are `open`, `fstat`, `mmap` and `munmap` of the image file.
    static func functionNames(of addresses: [UInt], inImageAt path: String, base: UInt) -> [UInt: String] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return [:] }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_size >= 64 else { return [:] }
        let size = Int(status.st_size)
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapped != MAP_FAILED else {
            return [:]
        }
        defer { munmap(mapped, size) }
        return parse(UnsafeRawBufferPointer(start: mapped, count: size), addresses: addresses, base: base)
    }

    private static func parse(_ file: UnsafeRawBufferPointer, addresses: [UInt], base: UInt) -> [UInt: String] {
        // SAFETY: every load below is bounds-checked against `file.count` first.
        func load<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T? {
            guard offset >= 0, offset + MemoryLayout<T>.size <= file.count else { return nil }
            return file.loadUnaligned(fromByteOffset: offset, as: T.self)
        }
        // An ELF64 little-endian file: "\u{7F}ELF", class 2, data 1.
        guard load(0, as: UInt32.self) == 0x464C_457F, load(4, as: UInt8.self) == 2, load(5, as: UInt8.self) == 1,
            let type = load(16, as: UInt16.self), let sectionsAt = load(0x28, as: UInt64.self),
            let entrySize = load(0x3A, as: UInt16.self), let sectionCount = load(0x3C, as: UInt16.self),
            entrySize >= 64
        else { return [:] }
        // Symbol values are link-time addresses: a position-independent image (ET_DYN) is
        // shifted by its load address, a fixed one (ET_EXEC) is not.
        let bias: UInt = type == 3 ? base : 0
        let wanted = addresses.map { $0 &- bias }.sorted()
        var names: [UInt: String] = [:]
        for index in 0..<Int(sectionCount) {
            let header = Int(sectionsAt) + index * Int(entrySize)
            guard load(header + 4, as: UInt32.self) == 2,  // SHT_SYMTAB
                let link = load(header + 40, as: UInt32.self),
                let symbolsAt = load(header + 24, as: UInt64.self),
                let symbolsSize = load(header + 32, as: UInt64.self)
            else { continue }
            let stringsHeader = Int(sectionsAt) + Int(link) * Int(entrySize)
            guard let stringsAt = load(stringsHeader + 24, as: UInt64.self),
                let stringsSize = load(stringsHeader + 32, as: UInt64.self)
            else { continue }
            var symbol = Int(symbolsAt)
            let end = Int(symbolsAt + symbolsSize)
            while symbol + 24 <= end {
                defer { symbol += 24 }
                guard let info = load(symbol + 4, as: UInt8.self), info & 0xF == 2,  // STT_FUNC
                    let value = load(symbol + 8, as: UInt64.self), let length = load(symbol + 16, as: UInt64.self),
                    length > 0, let nameOffset = load(symbol, as: UInt32.self), UInt64(nameOffset) < stringsSize
                else { continue }
                let start = UInt(value)
                // The first wanted address at or after the symbol's start.
                var low = 0
                var high = wanted.count
                while low < high {
                    let middle = (low + high) / 2
                    if wanted[middle] < start { low = middle + 1 } else { high = middle }
                }
                guard low < wanted.count, wanted[low] < start + UInt(length) else { continue }
                let nameStart = Int(stringsAt) + Int(nameOffset)
                guard nameStart < file.count,
                    let terminator = file[nameStart...].firstIndex(of: 0)
                else { continue }
                let name = String(decoding: file[nameStart..<terminator], as: UTF8.self)
                var position = low
                while position < wanted.count && wanted[position] < start + UInt(length) {
                    names[wanted[position] &+ bias] = name
                    position += 1
                }
            }
        }
        return names
    }
}
