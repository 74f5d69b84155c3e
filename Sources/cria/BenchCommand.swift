import ArgumentParser
import Foundation
import Models
import CriaNumerics

/// `cria bench -m MODEL -p 512 -n 128 -t 2 -r 3 [--batch 1,2,4,8]`: llama-bench-style throughput.
///
/// pp: one sequence's prompt of `p` tokens in one batch (logits for the last row only).
/// tg: `n` single-token decode steps of one sequence from an empty cache.
/// batch B: B sequences decoding `n` tokens each at once (one row per sequence per step);
/// reports the aggregate tokens/s.
/// `--json-schema FILE`: `n` sampled decode steps without and with the schema's grammar
/// constraint (see `ConstrainedDecodeBench`), and the ratio of the two rates.
/// `--profile`: the read-bandwidth bound of a decode step and where its time goes (`DecodeProfile`).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing and generation speed (tokens/s, mean ± sd)."
    )

    @Option(name: .shortAndLong, help: "Path to a .gguf model.")
    var model: String

    @Option(name: .customShort("p"), help: "Prompt tokens for the pp test (0 to skip).")
    var prompt = 512

    @Option(name: .customShort("n"), help: "Generated tokens for the tg test (0 to skip).")
    var generate = 128

    @Option(name: .customShort("t"), parsing: .unconditional, help: "Threads for generation (default: one per physical core).")
    var requestedThreads: Int?

    @Option(name: [.customLong("tb", withSingleDash: true), .customLong("threads-batch")], parsing: .unconditional,
            help: "Threads for batches (default: -t).")
    var requestedBatchThreads: Int?

    private var threads: Int { ThreadCountCheck.generation(requestedThreads) }
    private var batchThreads: Int { ThreadCountCheck.requested(requestedBatchThreads) ?? threads }

    @Option(name: .customShort("r"), help: "Repetitions of each test.")
    var repetitions = 3

    @Option(name: .customLong("batch"), help: "Comma-separated sequence counts for aggregate decode, e.g. 1,2,4,8.")
    var batchSizes: String?

    @Option(name: .customLong("json-schema"), help: "A JSON schema file: also time sampled decoding without and with it.")
    var jsonSchema: String?

    @Option(name: .customLong("numerics"), help: NumericsMode.help)
    var numerics = NumericsMode.invariant

    @OptionGroup var kvCache: KVCacheOptions

    @OptionGroup var gpu: GPUOptions
    @OptionGroup var rope: RoPEOptions

    @Flag(name: .customLong("profile"), help: "Also measure read bandwidth and split a decode step into its parts.")
    var profile = false

    /// "params: 1.23 B total, 123.45 M active per token; weights 0.70 GB total, 80.12 MB read per token"
    static func describe(_ p: ParameterCount) -> String {
        func amount(_ v: Int, _ big: String, _ small: String) -> String {
            v >= 1_000_000_000 ? String(format: "%.2f ", Double(v) / 1e9) + big : String(format: "%.2f ", Double(v) / 1e6) + small
        }
        return "params: \(amount(p.total, "B", "M")) total, \(amount(p.active, "B", "M")) active per token; "
            + "weights \(amount(p.totalBytes, "GB", "MB")) total, \(amount(p.activeBytes, "GB", "MB")) read per token"
    }

    func validate() throws {
        try ThreadCountCheck.check("-t", requestedThreads)
        try ThreadCountCheck.check("-tb", requestedBatchThreads)
        guard prompt >= 0 else { throw ValidationError("-p must be 0 or more, got \(prompt)") }
        guard generate >= 0 else { throw ValidationError("-n must be 0 or more, got \(generate)") }
        guard (1...Self.maximumRepetitions).contains(repetitions) else {
            throw ValidationError("-r must be between 1 and \(Self.maximumRepetitions), got \(repetitions)")
        }
        _ = try parsedBatchSizes()
    }

    static let maximumRepetitions = 10_000
    /// The most sequences `--batch` decodes at once: each is a row of every step's batch.
    static let maximumBatch = 4096

    func run() throws {
        let m = try TransformerModel(path: model, threads: threads, batchThreads: batchThreads, offload: try gpu.request { warning in
            FileHandle.standardError.write(Data(("warning: " + warning + "\n").utf8))
        }, rope: try rope.override())
        m.numerics = numerics
        // Read and convert the schema first, so a bad one fails before any measuring.
        let schemaBench = try jsonSchema.map { try loadSchemaBench(m, path: $0) }
        let vocab = Int32(m.config.vocabularySize)
        // Deterministic ordinary tokens (avoid the special ids at the start of the vocabulary).
        // (small vocabularies, as in test models: every id from 3, after <unk>, <s>, </s>)
        func token(_ i: Int) -> Int32 {
            vocab > 2000 ? Int32(1000 + (i * 7919) % Int(min(vocab - 1000, 200_000))) : Int32(3 + (i * 7919) % Int(max(1, vocab - 3)))
        }
        print("model: \(model)  numerics: \(numerics.rawValue)  kv: \(kvCache.cacheTypeK.lowercased())/\(kvCache.cacheTypeV.lowercased())  threads: \(threads)  batch threads: \(batchThreads)  reps: \(repetitions)")
        print("cpu: \(CPUCores.modelDescription() ?? "unknown"), \(CPUCores.defaultThreadCount) physical cores available, kernels: \(m.kernelPath), \(PrefetchCalibration.shared.summary)")
        print(Self.describe(m.parameterCount))
        if let offload = GPUOptions.describe(m) {
            print(offload.summary)
            if let warning = offload.warning { print("warning: " + warning) }
        }
        print("| test | t/s |")
        print("| --- | --- |")
        if prompt > 0 {
            let cache = try kvCache.makeCache(m, capacity: prompt)
            let tokens = (0..<prompt).map(token)
            _ = try m.forward(Batch(tokens: Array(tokens.prefix(16)), startPosition: 0), cache: cache)  // warm-up
            cache.clearAll()
            let rates = try (0..<repetitions).map { _ in
                let t0 = Date()
                _ = try m.forward(Batch(tokens: tokens, startPosition: 0), cache: cache)
                let dt = Date().timeIntervalSince(t0)
                cache.clearAll()
                return Double(prompt) / dt
            }
            print("| pp\(prompt) | \(Self.format(rates)) |")
        }
        if generate > 0 {
            let rates = try (0..<repetitions).map { _ in try decodeRate(m, sequences: 1, token: token) }
            print("| tg\(generate) | \(Self.format(rates)) |")
            for b in try parsedBatchSizes() {
                let rates = try (0..<repetitions).map { _ in try decodeRate(m, sequences: b, token: token) }
                print("| tg\(generate) x\(b) seqs (aggregate) | \(Self.format(rates)) |")
            }
        }
        if let schemaBench, generate > 0 { try benchSchema(schemaBench) }
        if profile { try DecodeProfile(model: m, steps: max(16, generate), repetitions: repetitions).run(token: token) }
    }

    private func loadSchemaBench(_ m: TransformerModel, path: String) throws -> ConstrainedDecodeBench {
        let schema: String
        do { schema = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CommandError("cannot read --json-schema \(path): \(error.localizedDescription)")
        }
        return try ConstrainedDecodeBench(model: m, schemaJSON: schema, tokens: generate)
    }

    /// Sampled decode rates without and with the schema, runs interleaved so load drift hits both.
    private func benchSchema(_ bench: ConstrainedDecodeBench) throws {
        _ = try bench.run(constrained: false, count: min(generate, 16))  // warm-up: maps the weights in
        var free: [ConstrainedDecodeBench.Run] = [], constrained: [ConstrainedDecodeBench.Run] = []
        for rep in 0..<repetitions {
            free.append(try bench.run(constrained: false, seed: Int64(rep + 1)))
            constrained.append(try bench.run(constrained: true, seed: Int64(rep + 1)))
        }
        print("| tg\(generate) sampled | \(Self.format(free.map(\.rate))) |")
        print("| tg\(generate) sampled, json schema | \(Self.format(constrained.map(\.rate))) |")
        let mean = { (runs: [ConstrainedDecodeBench.Run]) in runs.map(\.rate).reduce(0, +) / Double(runs.count) }
        let resamples = constrained.map(\.resamples).reduce(0, +), documents = constrained.map(\.documents).reduce(0, +)
        let perToken = { (runs: [ConstrainedDecodeBench.Run], time: KeyPath<ConstrainedDecodeBench.Run, Double>) in
            1000 * runs.map { $0[keyPath: time] }.reduce(0, +) / Double(runs.count)
        }
        let best = { (runs: [ConstrainedDecodeBench.Run]) in runs.map(\.rate).max()! }
        print(String(format: "json schema rate / unconstrained rate: %.1f%% of the mean, %.1f%% of the best run",
                     100 * mean(constrained) / mean(free), 100 * best(constrained) / best(free)))
        print(String(format: "per token: sampling %.2f ms unconstrained, %.2f ms with the schema (%.2f ms inside the grammar); "
                     + "%d of %d tokens resampled under the grammar, %d documents completed",
                     perToken(free, \.sampling), perToken(constrained, \.sampling), perToken(constrained, \.grammar),
                     resamples, generate * repetitions, documents))
    }

    private func parsedBatchSizes() throws -> [Int] {
        guard let batchSizes else { return [] }
        return try batchSizes.split(separator: ",").map { item in
            let text = item.trimmingCharacters(in: .whitespaces)
            guard let size = Int(text), (1...Self.maximumBatch).contains(size) else {
                throw ValidationError("--batch takes sequence counts between 1 and \(Self.maximumBatch), got '\(text)'")
            }
            return size
        }
    }

    /// Aggregate tokens/s of `sequences` sequences each decoding `generate` tokens, one row each per step.
    private func decodeRate(_ m: TransformerModel, sequences: Int, token: (Int) -> Int32) throws -> Double {
        let cache = try kvCache.makeCache(m, capacity: generate, sequences: sequences)
        let t0 = Date()
        for step in 0..<generate {
            var batch = Batch()
            for s in 0..<sequences {
                batch.append(.init(token: token(step * 31 + s), position: Int32(step), sequence: s, wantsLogits: true))
            }
            _ = try m.forward(batch, cache: cache)
        }
        return Double(sequences * generate) / Date().timeIntervalSince(t0)
    }

    static func format(_ rates: [Double]) -> String {
        let mean = rates.reduce(0, +) / Double(rates.count)
        let variance = rates.count > 1 ? rates.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rates.count - 1) : 0
        return String(format: "%.2f ± %.2f", mean, variance.squareRoot())
    }
}
