@_spi(FaultInjection) import Arena

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Allocations refused on purpose, **for tests only**: the server answers the writes whose
/// memory is refused with an `OOM` error and keeps every stored value as it was.
///
/// Set from the environment of `arena-kv` (``fromEnvironment(_:)``), never from its command
/// line, so that it stays out of `--help` and out of production configurations:
///
/// | variable | meaning |
/// |---|---|
/// | `ARENA_KV_FAIL_RATE` | share of the store arena's backend allocations refused: `0.01` or `1%` |
/// | `ARENA_KV_IO_FAIL_RATE` | the same for the receive buffers' arena (`kv-io`); off unless set |
/// | `ARENA_KV_FAIL_SEED` | the seed of the refusals (a decimal `UInt64`; 1 by default) |
///
/// The two arenas are separate on purpose. A refusal in the store's arena is a write that
/// fails, visible to the client as an error reply: what the store must survive. A refusal in
/// the I/O arena only delays a read (the connection's `ArenaFramingHandler` keeps the bytes
/// NIO gave it and retries 5 ms later), changes no reply, and is the library's own behaviour,
/// tested in `ArenaNIO`; it has its own variable so that a test can check it in the whole
/// server without mixing delays into the store's figures.
///
/// Counted at the arena's backend: chunk refills, dedicated blocks (values over 8 KiB,
/// compacted copies), never the regions carved from a chunk, so a rate of 1% refuses far
/// fewer than 1% of the writes. `INFO stats` shows the counts (`fault_injection_store`,
/// `fault_injection_io`); the server prints them when it shuts down.
package struct InjectedFaults: Sendable, Equatable {
    /// The share of the store arena's backend allocations refused, 0 to 1.
    package var storeRate: Double
    /// The share of the I/O arena's backend allocations refused, 0 to 1.
    package var ioRate: Double
    /// The seed of the store arena's refusals; the I/O arena's stream is seeded with `seed + 1`.
    package var seed: UInt64

    /// Refusals at these rates, from `seed`.
    package init(storeRate: Double = 0, ioRate: Double = 0, seed: UInt64 = 1) {
        self.storeRate = storeRate
        self.ioRate = ioRate
        self.seed = seed
    }

    /// The name of the variable that sets ``storeRate``.
    package static let storeRateVariable = "ARENA_KV_FAIL_RATE"
    /// The name of the variable that sets ``ioRate``.
    package static let ioRateVariable = "ARENA_KV_IO_FAIL_RATE"
    /// The name of the variable that sets ``seed``.
    package static let seedVariable = "ARENA_KV_FAIL_SEED"

    /// The refusals the environment asks for, or `nil` when neither rate variable is set.
    ///
    /// - Throws: ``InjectedFaultsError`` naming the variable whose value is not a share (a
    ///   number from 0 to 1, or a percentage) or not a seed.
    package static func fromEnvironment(_ environment: [String: String]) throws(InjectedFaultsError) -> InjectedFaults?
    {
        let store = environment[storeRateVariable]
        let io = environment[ioRateVariable]
        guard store != nil || io != nil else { return nil }
        var faults = InjectedFaults()
        if let store { faults.storeRate = try share(store, variable: storeRateVariable) }
        if let io { faults.ioRate = try share(io, variable: ioRateVariable) }
        if let text = environment[seedVariable] {
            guard let seed = UInt64(text) else {
                throw InjectedFaultsError(
                    "\(seedVariable) must be a decimal number from 0 to \(UInt64.max), not '\(text)'"
                )
            }
            faults.seed = seed
        }
        return faults
    }

    /// ``fromEnvironment(_:)`` of this process's environment.
    package static func fromProcessEnvironment() throws(InjectedFaultsError) -> InjectedFaults? {
        var environment: [String: String] = [:]
        for name in [storeRateVariable, ioRateVariable, seedVariable] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return try fromEnvironment(environment)
    }

    /// A share from 0 to 1: a number (`0.01`) or a percentage (`1%`).
    private static func share(_ text: String, variable: String) throws(InjectedFaultsError) -> Double {
        let percent = text.hasSuffix("%")
        guard let number = Double(percent ? String(text.dropLast()) : text), number.isFinite,
            (0...1).contains(percent ? number / 100 : number)
        else {
            throw InjectedFaultsError("\(variable) must be a share from 0 to 1, or 0% to 100%, not '\(text)'")
        }
        return percent ? number / 100 : number
    }

    /// Sets the plans on the two arenas (a rate of 0 sets none).
    func apply(store: ArenaAllocator, io: ArenaAllocator) {
        if storeRate > 0 { store.faultInjection.set(.failAtRate(storeRate, seed: seed)) }
        if ioRate > 0 { io.faultInjection.set(.failAtRate(ioRate, seed: seed &+ 1)) }
    }

    /// `ARENA_KV_FAIL_RATE=0.01 ARENA_KV_IO_FAIL_RATE=0 ARENA_KV_FAIL_SEED=1`, for the warning
    /// the server prints at start.
    package var description: String {
        "\(Self.storeRateVariable)=\(storeRate) \(Self.ioRateVariable)=\(ioRate) \(Self.seedVariable)=\(seed)"
    }
}

/// A fault-injection variable whose value cannot be used, with a one-line message.
package struct InjectedFaultsError: Error, CustomStringConvertible {
    /// What is wrong, naming the variable.
    package var description: String

    init(_ description: String) {
        self.description = description
    }
}

extension ServerState {
    /// What the fault injection of each arena did, when ``ServerConfiguration/faults`` is set.
    package var faultCounts: (store: FaultCounts, io: FaultCounts)? {
        guard configuration.faults != nil else { return nil }
        return (FaultCounts(storeArena.faultInjection.counts), FaultCounts(ioArena.faultInjection.counts))
    }

    /// One line for the server's log: `fault injection refused 12 of 1234 store allocations
    /// and 0 of 5 I/O allocations`, or `nil` when it is off.
    package var faultSummary: String? {
        guard let (store, io) = faultCounts else { return nil }
        return "fault injection refused \(store.refused) of \(store.attempts) store allocations "
            + "and \(io.refused) of \(io.attempts) I/O allocations"
    }
}

/// The backend allocations an arena was asked for since its plan was set, and those refused.
package struct FaultCounts: Sendable, Equatable {
    /// Backend allocations asked for.
    package var attempts: Int
    /// Backend allocations refused on purpose.
    package var refused: Int

    init(_ counts: FaultInjection.Counts) {
        attempts = counts.attempts
        refused = counts.injected
    }
}
