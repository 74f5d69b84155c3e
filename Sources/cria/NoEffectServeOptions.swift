import ArgumentParser

/// Flags of today's llama-server that have no effect in cria, each for a reason
/// (docs/compatibility.md): they are parsed, and their values checked, so that a command line
/// written for llama-server starts instead of failing with "Unknown option".
struct NoEffectServeOptions: ParsableArguments {
    /// cria runs no warm-up pass: the first request's own forward pass maps the weights in.
    @Flag(name: .customLong("warmup"), inversion: .prefixedNo, help: .hidden)
    var warmup = true
    /// Batching never changes results in the default invariant numerics, and is always on.
    @Flag(name: [.customLong("nocb", withSingleDash: true), .customLong("no-cont-batching")], help: .hidden)
    var noContinuousBatching = false
    @Option(name: [.customLong("sm", withSingleDash: true), .customLong("split-mode")], help: .hidden)
    var splitMode: String?
    @Option(name: [.customLong("dt", withSingleDash: true), .customLong("defrag-thold")], parsing: .unconditional, help: .hidden)
    var defragThreshold: Double?
    @Flag(name: .customLong("perf"), inversion: .prefixedNo, help: .hidden)
    var perf = true
    @Option(name: .customLong("prio"), parsing: .unconditional, help: .hidden)
    var priority: Int?
    @Option(name: .customLong("prio-batch"), parsing: .unconditional, help: .hidden)
    var batchPriority: Int?
    @Option(name: .customLong("poll"), parsing: .unconditional, help: .hidden)
    var poll: Int?
    @Option(name: .customLong("poll-batch"), parsing: .unconditional, help: .hidden)
    var pollBatch: Int?
    @Option(name: [.customShort("C"), .customLong("cpu-mask")], help: .hidden)
    var cpuMask: String?
    @Option(name: [.customLong("Cb", withSingleDash: true), .customLong("cpu-mask-batch")], help: .hidden)
    var cpuMaskBatch: String?
    @Option(name: [.customLong("Cr", withSingleDash: true), .customLong("cpu-range")], help: .hidden)
    var cpuRange: String?
    @Option(name: [.customLong("Crb", withSingleDash: true), .customLong("cpu-range-batch")], help: .hidden)
    var cpuRangeBatch: String?
    @Option(name: .customLong("cpu-strict"), help: .hidden)
    var cpuStrict: Int?
    @Option(name: .customLong("cpu-strict-batch"), help: .hidden)
    var cpuStrictBatch: Int?
    /// llama.cpp's experimental sampling on the compute backend; cria samples on the CPU, and the
    /// sampled tokens do not depend on where.
    @Flag(name: [.customLong("bs", withSingleDash: true), .customLong("backend-sampling")], help: .hidden)
    var backendSampling = false
    @Flag(name: .customLong("verbose-prompt"), help: .hidden)
    var verbosePrompt = false
    @Flag(name: [.customShort("e"), .customLong("escape")], help: .hidden)
    var escape = false
    @Flag(name: .customLong("no-escape"), help: .hidden)
    var noEscape = false
    @Flag(name: .customLong("no-mmproj"), help: .hidden)
    var noMmproj = false
    @Flag(name: .customLong("mmproj-offload"), inversion: .prefixedNo, help: .hidden)
    var mmprojOffload = true
    /// cria checks every tensor's type, shape, alignment and bounds when it reads the file.
    @Flag(name: .customLong("check-tensors"), help: .hidden)
    var checkTensors = false
    @Option(name: [.customLong("sps", withSingleDash: true), .customLong("slot-prompt-similarity")], parsing: .unconditional,
            help: .hidden)
    var slotPromptSimilarity: Double?

    func validate() throws {
        if let splitMode, !["none", "layer", "row"].contains(splitMode) {
            throw ValidationError("--split-mode must be none, layer or row, got '\(splitMode)'")
        }
        if let defragThreshold, !defragThreshold.isFinite {
            throw ValidationError("--defrag-thold must be a number (below 0 disables), got \(defragThreshold)")
        }
        try Self.check("--prio", priority, -1...3)
        try Self.check("--prio-batch", batchPriority, -1...3)
        try Self.check("--poll", poll, 0...100)
        try Self.check("--poll-batch", pollBatch, 0...1)
        try Self.check("--cpu-strict", cpuStrict, 0...1)
        try Self.check("--cpu-strict-batch", cpuStrictBatch, 0...1)
        for (flag, mask) in [("--cpu-mask", cpuMask), ("--cpu-mask-batch", cpuMaskBatch)] {
            guard let mask else { continue }
            let digits = mask.hasPrefix("0x") || mask.hasPrefix("0X") ? mask.dropFirst(2) : Substring(mask)
            guard !digits.isEmpty, digits.count <= 128, digits.allSatisfy(\.isHexDigit) else {
                throw ValidationError("\(flag) must be a hexadecimal CPU mask (e.g. 0xff), got '\(mask)'")
            }
        }
        for (flag, range) in [("--cpu-range", cpuRange), ("--cpu-range-batch", cpuRangeBatch)] {
            guard let range else { continue }
            let ends = range.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard ends.count == 2, let low = ends[0], let high = ends[1], 0 <= low, low <= high, high < 512 else {
                throw ValidationError("\(flag) must be lo-hi, CPU numbers from 0 to 511 (e.g. 0-7), got '\(range)'")
            }
        }
        if let slotPromptSimilarity, !(0...1).contains(slotPromptSimilarity) {
            throw ValidationError("--slot-prompt-similarity must be between 0 and 1, got \(slotPromptSimilarity)")
        }
    }

    static func check(_ flag: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
        if let value, !range.contains(value) {
            throw ValidationError("\(flag) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }
}
