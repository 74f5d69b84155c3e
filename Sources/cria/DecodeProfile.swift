import CriaNumerics
import Foundation
import Models
import Sampling

/// `cria bench --profile`: where a decode step's time goes, and how close it is to the memory
/// bandwidth bound.
///
/// A decode step reads every weight matrix once, so the time to stream those bytes through the
/// same threads is the least a step can take. The step is then split by timing its parts alone
/// with one row: the LM head product, the layers' products (a mixture-of-experts layer's routed
/// experts grouped as the forward pass groups them), and the rest (norms, RoPE, attention,
/// cache stores, activation quantization and thread hand-offs) as the difference; sampling with
/// the server's default chain comes on top of the step. The share of the bound is measured a
/// second time with every step timed beside one read of the weights (`interleaved`), which a
/// shared host's changing bandwidth skews much less. Last, the layers' products for a 512-row prompt
/// by weight type (the compute-bound side).
struct DecodeProfile {
    let model: TransformerModel
    let steps: Int
    let repetitions: Int

    /// One product of a decode step with one row, run as the forward pass runs it.
    struct Product {
        let type: String
        let bytes: Int
        let run: () -> Void
    }

    /// y = W·x for one row, as the forward pass computes it.
    func product(_ w: WeightMatrix, _ buffers: ProfileBuffers) -> Product {
        let m = model, order = m.uniformOrder
        return Product(type: w.type.name, bytes: w.rows * w.rowBytes) {
            Matmul.multiply(w, buffers.input, batch: 1, into: buffers.output, pool: m.pool, path: m.kernelPath, orders: [order])
        }
    }

    /// The layers' products: each of a layer's own matrices alone, and a mixture-of-experts
    /// layer's routed experts (the first `expert_used_count`) through `Matmul.multiplyExperts`,
    /// gate and up in one parallel region and down in another, as the forward pass runs them
    /// (timed one matrix at a time, 174 small expert products took longer than the whole step).
    /// `buffers` holds the input row and outputs, sized by the caller.
    func layerProducts(_ buffers: ProfileBuffers) -> [Product] {
        let m = model, order = m.uniformOrder
        var products: [Product] = []
        for l in m.weights.layers {
            products += m.ownMatrices(l).map { product($0, buffers) }
            guard let e = l.experts, let used = m.config.experts?.used else { continue }
            let selected = (0..<Int32(used)).map { $0 }
            let grouping = selected.withUnsafeBufferPointer {
                ExpertGrouping(selected: $0.baseAddress!, tokens: 1, slots: used, expertCount: e.gate.count)
            }
            let scratch = ExpertMatmulScratch()
            products.append(Product(type: e.gate.type.name, bytes: used * (e.gate.expertBytes + e.up.expertBytes)) {
                Matmul.multiplyExperts([(e.up, buffers.expertUp), (e.gate, buffers.expertGate)], input: .perToken(buffers.input),
                                       grouping: grouping, scratch: scratch, pool: m.pool, path: m.kernelPath, order: order)
            })
            products.append(Product(type: e.down.type.name, bytes: used * e.down.expertBytes) {
                Matmul.multiplyExperts([(e.down, buffers.expertDown)], input: .grouped(buffers.expertGate), grouping: grouping,
                                       scratch: scratch, pool: m.pool, path: m.kernelPath, order: order)
            })
        }
        return products
    }

    func run(token: (Int) -> Int32) throws {
        let m = model
        m.pool.activeThreads = m.threads
        let stepMatrices = m.decodeStepMatrices, layerMatrices = Array(stepMatrices.dropLast())  // the last is the LM head
        let regions = stepMatrices.map { UnsafeRawBufferPointer(start: $0.data, count: $0.rows * $0.rowBytes) }
        let bytes = regions.reduce(0) { $0 + $1.count }
        _ = MemoryBandwidth.read(regions, pool: m.pool)  // maps the pages in
        let readSeconds = best { _ = MemoryBandwidth.read(regions, pool: m.pool) }
        let gbps = Double(bytes) / readSeconds / 1e9
        print(String(format: "weights read per decode step: %@ MB; read bandwidth with %d threads: %.1f GB/s (best of %d)",
                     Self.megabytes(bytes), m.threads, gbps, repetitions))
        print(String(format: "bandwidth bound: %.2f ms/token = %.1f tokens/s", readSeconds * 1000, 1 / readSeconds))

        let cache = m.makeCache(capacity: steps + 1)
        var logits: [Float] = []
        let stepSeconds = try best {
            cache.clearAll()
            for step in 0..<steps {
                logits = try m.forward(Batch(tokens: [token(step)], startPosition: step), cache: cache)
            }
        } / Double(steps)

        let buffers = ProfileBuffers(model.config, inputWidth: stepMatrices.map(\.columns).max()!,
                                     outputRows: stepMatrices.map(\.rows).max()!)
        defer { buffers.deallocate() }
        let head = m.weights.output, headProduct = product(head, buffers)
        let headSeconds = best {
            for _ in 0..<steps { headProduct.run() }
        } / Double(steps)
        let products = layerProducts(buffers)
        let layerSeconds = best {
            for _ in 0..<steps { for p in products { p.run() } }
        } / Double(steps)

        let vocabulary = VocabularyInfo(size: m.config.vocabularySize)
        let sampler = try SamplerChain(parameters: SamplingParameters(), vocabulary: vocabulary, contextSize: steps + 1)
        let samplingSeconds = best {
            for _ in 0..<steps { _ = sampler.sample(logits: logits) }
        } / Double(steps)

        var byType: [(String, Int, Double)] = []
        for type in Set(products.map(\.type)).sorted() {
            let ps = products.filter { $0.type == type }
            let seconds = best { for _ in 0..<steps { for p in ps { p.run() } } } / Double(steps)
            byType.append((type, ps.reduce(0) { $0 + $1.bytes }, seconds))
        }

        let paired = try interleaved(regions, token: token)
        let lastLevelCache = CacheSize.lastLevel()

        // Timed alone, matrices that fit the last-level cache (CPU 0's; hosts with several L3s
        // have more) are read from it, not from memory, and run faster than in a step: say so
        // beside their rates (a 260 MiB L3 holds even Gemma's 178 MB LM head).
        func rate(_ bytes: Int, _ seconds: Double) -> String {
            let cached = lastLevelCache.map { bytes < $0 } ?? false
            return String(format: "%@ MB, %.1f GB/s%@", Self.megabytes(bytes), Double(bytes) / seconds / 1e9,
                          cached ? "; fits the cache when timed alone" : "")
        }
        let rest = stepSeconds - headSeconds - layerSeconds
        print("| part of a decode step (1 row) | ms/token | share |")
        print("| --- | --- | --- |")
        for (name, seconds) in [("LM head product (\(head.type.name), \(head.rows) rows, \(rate(headProduct.bytes, headSeconds)))", headSeconds),
                                ("layer products (\(m.config.layerCount) layers, \(layerMatrices.count) matrices)", layerSeconds),
                                ("everything else (the step less the products timed alone: norms, RoPE, attention, KV stores, quantizing, hand-offs)", rest),
                                ("forward step, total", stepSeconds)] {
            print(String(format: "| %@ | %.3f | %.1f%% |", name, seconds * 1000, 100 * seconds / stepSeconds))
        }
        for (type, typeBytes, seconds) in byType {
            print(String(format: "| … layer products in %@ (%@) | %.3f | %.1f%% |", type, rate(typeBytes, seconds),
                         seconds * 1000, 100 * seconds / stepSeconds))
        }
        print(String(format: "| sampling, default chain (after the step) | %.3f | +%.1f%% |",
                     samplingSeconds * 1000, 100 * samplingSeconds / stepSeconds))
        print(String(format: "decode: %.1f tokens/s = %.0f%% of the bandwidth bound; the products alone run at %.1f GB/s",
                     1 / stepSeconds, 100 * readSeconds / stepSeconds, Double(bytes) / (headSeconds + layerSeconds) / 1e9))
        print(String(format: "interleaved (%d steps, each beside one read of the weights): decode %.1f tokens/s, reads %.1f GB/s: "
                     + "%.0f%% of the bandwidth bound", paired.count, 1 / paired.step, Double(bytes) / paired.read / 1e9,
                     100 * paired.read / paired.step))
        promptProducts(layerMatrices, rows: 512)
    }

    /// Mean seconds of a decode step and of one read of the weights, each step timed right after
    /// its read, `repetitions` × `steps` times: both see the same neighbours, where a bound read
    /// once before the decode can be off by a third on a shared host. (The read leaves the caches
    /// holding weights, not the step's KV rows; a step reads 0.1–2 MB of those, ~1% of its bytes.)
    private func interleaved(_ regions: [UnsafeRawBufferPointer], token: (Int) -> Int32) throws
        -> (step: Double, read: Double, count: Int) {
        let cache = model.makeCache(capacity: steps + 1)
        var step = 0.0, read = 0.0, count = 0
        for _ in 0..<max(1, repetitions) {
            cache.clearAll()
            for s in 0..<steps {
                read += seconds { _ = MemoryBandwidth.read(regions, pool: model.pool) }
                step += try seconds { _ = try model.forward(Batch(tokens: [token(s)], startPosition: s), cache: cache) }
                count += 1
            }
        }
        return (step / Double(count), read / Double(count), count)
    }

    /// The layers' products for a prompt of `rows` rows (the batch threads), by weight type: the
    /// compute-bound part of prompt processing, in multiply-accumulates per second.
    private func promptProducts(_ matrices: [WeightMatrix], rows: Int) {
        let m = model, c = m.config
        m.pool.activeThreads = m.batchThreads
        let width = max(c.embeddingLength, c.queryDimension, c.feedForwardLength)
        var input = [Float](repeating: 0, count: rows * width)
        for i in input.indices { input[i] = Float(sin(Double(i) * 0.37)) }
        var out = [Float](repeating: 0, count: rows * matrices.map(\.rows).max()!)
        let orders = [RowOrder](repeating: m.uniformOrder, count: rows)  // the mode's one-row order (Q5_0's lanes or sums)
        print("| layer products for a \(rows)-row prompt | ms | GMAC/s |")
        print("| --- | --- | --- |")
        for type in Set(matrices.map(\.type.name)).sorted() {
            let ms = matrices.filter { $0.type.name == type }
            let macs = ms.reduce(0) { $0 + $1.rows * $1.columns } * rows
            let seconds = best {
                input.withUnsafeBufferPointer { x in
                    out.withUnsafeMutableBufferPointer { y in
                        for w in ms {
                            Matmul.multiply(w, x.baseAddress!, batch: rows, into: y.baseAddress!, pool: m.pool, path: m.kernelPath,
                                            orders: orders)
                        }
                    }
                }
            }
            print(String(format: "| %@ (%d matrices) | %.1f | %.1f |", type, ms.count, seconds * 1000, Double(macs) / seconds / 1e9))
        }
        m.pool.activeThreads = m.threads
    }

    /// `bytes` in MB, to 0.1 MB, or to 1 kB below 10 MB (a small model's parts would round to nothing)
    static func megabytes(_ bytes: Int) -> String {
        String(format: bytes >= 10_000_000 ? "%.1f" : "%.3f", Double(bytes) / 1e6)
    }

    /// The shortest of `repetitions` timings of `body`, in seconds.
    private func best(_ body: () throws -> Void) rethrows -> Double {
        var shortest = Double.infinity
        for _ in 0..<max(1, repetitions) { shortest = min(shortest, try seconds(body)) }
        return shortest
    }

    /// One timing of `body`, in seconds.
    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
}

/// The one-row input and the outputs of the profile's products (the widest of each), and a
/// mixture-of-experts layer's grouped rows.
final class ProfileBuffers: @unchecked Sendable {
    let input: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let expertUp: UnsafeMutablePointer<Float>
    let expertGate: UnsafeMutablePointer<Float>
    let expertDown: UnsafeMutablePointer<Float>

    init(_ c: ModelConfiguration, inputWidth: Int, outputRows: Int) {
        let expertWidth = c.experts?.feedForwardLength ?? 0, used = c.experts?.used ?? 0
        let width = max(inputWidth, expertWidth)
        input = .allocate(capacity: width)
        for i in 0..<width { input[i] = Float(sin(Double(i) * 0.37)) }
        output = .allocate(capacity: outputRows)
        expertUp = .allocate(capacity: max(1, used * expertWidth))
        expertGate = .allocate(capacity: max(1, used * expertWidth))
        expertGate.initialize(repeating: 0.5, count: max(1, used * expertWidth))
        expertDown = .allocate(capacity: max(1, used * c.embeddingLength))
    }

    func deallocate() {
        for p in [input, output, expertUp, expertGate, expertDown] { p.deallocate() }
    }
}
