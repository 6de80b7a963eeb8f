// The arena and its byte views against NIO's ByteBuffer, Foundation's Data, [UInt8] and malloc,
// each workload with its peers in the same run. `Scripts/bench` runs this target and prints the
// side-by-side summary; see Harness.swift for what each benchmark records.

import Benchmark

let benchmarks: @Sendable () -> Void = {
    registerAllocation()
    registerViews()
    registerFrames()
    registerIntegers()
    registerGrowth()
    registerFreezeReclaim()
    registerThreads()
    registerChains()
    registerInterop()
    registerEcho()
    registerFramingAlone()
}
