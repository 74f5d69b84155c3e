import GGUF
import CriaNumerics

/// A decoder-only transformer (Gemma 3, Llama, Qwen2) that runs batches of rows over a KV cache.
///
/// The forward pass is written once; `ModelConfiguration` carries each architecture's choices.
/// Every row's result depends only on its own sequence's cache and token — never on which other
/// rows share the batch — because each output element is computed by one fixed-order reduction.
public final class TransformerModel: @unchecked Sendable {
    public let file: GGUFFile
    public let config: ModelConfiguration
    public let weights: ModelWeights
    public let pool: ComputePool
    /// Which kernel implementation every step uses (one path per model keeps results batch-invariant).
    public let kernelPath: KernelPath
    /// Threads for single-row steps (decode) and for multi-row steps (prompts, several sequences).
    public let threads: Int, batchThreads: Int
    /// Activation buffers, kept across calls and grown when a batch has more rows.
    private var scratch: ForwardScratch?

    /// Called with named intermediate tensors (llama.cpp's names, e.g. "l_out-3") as the forward
    /// pass computes them: rows × width floats. For numerical debugging against llama.cpp's
    /// eval callback; nil in normal use.
    public var tensorObserver: ((String, Int, UnsafeBufferPointer<Float>) -> Void)?

    private func observe(_ name: @autoclosure () -> String, _ rows: Int, _ p: UnsafePointer<Float>, width: Int) {
        guard let tensorObserver else { return }
        tensorObserver(name(), rows, UnsafeBufferPointer(start: p, count: rows * width))
    }

    /// Rows of one sequence are taken in groups of this many (llama.cpp's micro-batch, `-ub`): a
    /// group's size picks llama.cpp's numerics for its rows (repacked Q4_K gemm from 4 rows, tiled
    /// K-quant products from 8, tiled attention from 64), so that results follow llama.cpp's and
    /// do not depend on what else the batch holds.
    public var microBatchSize = 512

    /// Whether rows follow llama.cpp's batch-dependent orders or one fixed order (the default).
    public var numerics = NumericsMode.invariant

    /// `threads` run single-row (decode) steps, `batchThreads` (default: `threads`) multi-row ones.
    public init(file: GGUFFile, threads: Int, batchThreads: Int? = nil,
                kernelPath: KernelPath = KernelDispatch.current) throws {
        self.file = file
        let vocab = file.metadata.array("tokenizer.ggml.tokens")?.count
            ?? file.tensor(named: "token_embd.weight")?.shape.last ?? 0
        config = try ModelConfiguration(metadata: file.metadata, vocabularySize: vocab)
        weights = try ModelWeights(file: file, config: config)
        self.threads = max(1, threads)
        self.batchThreads = max(1, batchThreads ?? threads)
        self.kernelPath = kernelPath
        pool = ComputePool(threads: max(self.threads, self.batchThreads))
    }

    public convenience init(path: String, mode: GGUFStorage.LoadMode = .mmap, threads: Int, batchThreads: Int? = nil,
                            kernelPath: KernelPath = KernelDispatch.current) throws {
        try self.init(file: GGUFFile(path: path, mode: mode), threads: threads, batchThreads: batchThreads,
                      kernelPath: kernelPath)
    }

    /// A cache whose sequences each hold up to `capacity` tokens.
    public func makeCache(capacity: Int) -> KVCache {
        KVCache(layerCount: config.layerCount, kvDimension: config.kvDimension, capacity: capacity)
    }

    /// Runs `batch`, appending its keys and values to `cache`, and returns the logits of the rows
    /// that asked for them, in row order: `logitRowCount × vocabularySize` floats.
    public func forward(_ batch: Batch, cache: KVCache) throws -> [Float] {
        guard let (x, s) = try residualStream(batch, cache: cache) else { return [] }
        return computeLogits(batch, hidden: x, scratch: s)
    }

    /// Runs `batch` like `forward` but returns, for every row in row order, the final hidden
    /// state after the output norm (`count × embeddingLength` floats): what embeddings pool.
    public func forwardHidden(_ batch: Batch, cache: KVCache) throws -> [Float] {
        guard let (x, _) = try residualStream(batch, cache: cache) else { return [] }
        let n = batch.count, d = config.embeddingLength
        var out = [Float](repeating: 0, count: n * d)
        out.withUnsafeMutableBufferPointer { ob in
            for i in 0..<n {
                VectorMath.rmsNorm(x + i * d, weight: weights.outputNorm, count: d, eps: config.rmsEpsilon,
                                   into: ob.baseAddress! + i * d)
            }
        }
        return out
    }

    /// Embeds the batch and runs every layer over it; returns the residual stream
    /// (`count × embeddingLength`, inside the reused scratch), or nil for an empty batch.
    private func residualStream(_ batch: Batch, cache: KVCache) throws -> (UnsafeMutablePointer<Float>, ForwardScratch)? {
        let cells = try assignCells(batch, cache: cache)
        let n = batch.count, d = config.embeddingLength
        guard n > 0 else { return nil }
        pool.activeThreads = n == 1 ? threads : batchThreads
        if scratch == nil || scratch!.rows < n { scratch = ForwardScratch(config: config, rows: n) }
        let s = scratch!
        let x = s.x
        embed(batch, into: x)
        observe("inp_scaled", n, x, width: d)
        let groups = rowGroups(batch)
        // llama.cpp's batch-dependent orders (Matmul's modes): its tiled K-quant matmul for groups of
        // 8 or more rows, its repacked Q4_K gemm for the first multiple of 4 rows of a group of 4+
        var modes = [UInt8](repeating: 0, count: n)
        for group in groups where numerics == .llamaCpp {
            let gemmRows = group.count >= 4 ? group.count - group.count % 4 : 0
            for (j, i) in group.enumerated() {
                modes[Int(i)] = (group.count >= 8 ? 1 : 0) | (j < gemmRows ? 2 : 0)
            }
        }
        modes.withUnsafeBufferPointer { mb in
            for layer in 0..<config.layerCount {
                runLayer(layer, batch: batch, cells: cells, cache: cache, x: x, scratch: s, groups: groups, modes: mb.baseAddress!)
            }
        }
        return (x, s)
    }

    /// Moves the cached tokens of `sequence` at positions in `range` by `delta` (context shift),
    /// rotating their keys so attention sees them at the new positions.
    public func shift(_ cache: KVCache, sequence: Int, positions range: Range<Int32>, by delta: Int32) {
        let moved = cache.shiftPositions(sequence, range: range, delta: delta)
        guard !moved.isEmpty, delta != 0 else { return }
        let s = cache.cells(sequence)
        let c = config
        withUnsafeTemporaryAllocation(of: Float.self, capacity: c.ropeDimensions + c.headDimension) { buffer in
            let angles = buffer.baseAddress!, head = angles + c.ropeDimensions
            for layer in 0..<c.layerCount {
                let (base, scale) = ropeParameters(layer)
                RoPE.angles(position: Float(delta), dims: c.ropeDimensions, base: base, scale: scale, into: angles)
                for cell in moved {
                    let k = s.key(layer: layer, cell: cell)
                    for h in 0..<c.headCountKV {
                        let kh = k + h * c.headDimension
                        for i in 0..<c.headDimension { head[i] = Float(kh[i]) }
                        RoPE.apply(head, dims: c.ropeDimensions, layout: c.ropeLayout, angles: angles)
                        for i in 0..<c.headDimension { kh[i] = Float16(head[i]) }
                    }
                }
            }
        }
    }

    // MARK: - Steps of the forward pass

    /// Checks the batch and decides which cache cell each row's K/V goes to.
    private func assignCells(_ batch: Batch, cache: KVCache) throws -> [(SequenceCells, Int)] {
        var next: [Int: (cells: SequenceCells, count: Int, last: Int32)] = [:]
        var out: [(SequenceCells, Int)] = []
        out.reserveCapacity(batch.count)
        for row in batch.rows {
            guard row.token >= 0, Int(row.token) < config.vocabularySize else {
                throw ModelError.badBatch("token id \(row.token) is outside the vocabulary (size \(config.vocabularySize))")
            }
            var state = next[row.sequence] ?? {
                let s = cache.cells(row.sequence)
                return (s, s.count, s.count > 0 ? s.positions[s.count - 1] : -1)
            }()
            guard row.position > state.last else {
                throw ModelError.badBatch("position \(row.position) of sequence \(row.sequence) is not after \(state.last)")
            }
            guard state.count < cache.capacity else {
                throw ModelError.contextFull(sequence: row.sequence, capacity: cache.capacity)
            }
            out.append((state.cells, state.count))
            state.count += 1
            state.last = row.position
            next[row.sequence] = state
        }
        for (_, state) in next {
            state.cells.count = state.count
        }
        for (i, row) in batch.rows.enumerated() {
            out[i].0.positions[out[i].1] = row.position
        }
        return out
    }

    private func embed(_ batch: Batch, into x: UnsafeMutablePointer<Float>) {
        let d = config.embeddingLength, scale = config.embeddingScale
        for (i, row) in batch.rows.enumerated() {
            let xi = x + i * d
            weights.tokenEmbedding.dequantizeRow(Int(row.token), into: xi)
            if scale != 1 { for j in 0..<d { xi[j] *= scale } }
        }
    }

    private func ropeParameters(_ layer: Int) -> (base: Float, scale: Float) {
        config.slidingLayers[layer] ? (config.ropeBaseSliding, 1) : (config.ropeBase, config.ropeScale)
    }

    /// Each sequence's rows (indices into the batch, in order), cut into micro-batch groups.
    private func rowGroups(_ batch: Batch) -> [[Int32]] {
        var rowsOf: [Int: [Int32]] = [:]
        for (i, row) in batch.rows.enumerated() { rowsOf[row.sequence, default: []].append(Int32(i)) }
        var groups: [[Int32]] = []
        let size = max(1, microBatchSize)
        for sequence in rowsOf.keys.sorted() {
            let indices = rowsOf[sequence]!
            for start in stride(from: 0, to: indices.count, by: size) {
                groups.append(Array(indices[start..<min(start + size, indices.count)]))
            }
        }
        return groups
    }

    private func runLayer(_ layer: Int, batch: Batch, cells: [(SequenceCells, Int)], cache: KVCache,
                          x: UnsafeMutablePointer<Float>, scratch s: ForwardScratch, groups: [[Int32]],
                          modes: UnsafePointer<UInt8>) {
        let c = config, w = weights.layers[layer], n = batch.count, d = c.embeddingLength
        let eps = c.rmsEpsilon

        let path = kernelPath
        let (h, q, k, v, attn, o, gate, up) = (s.h, s.q, s.k, s.v, s.attn, s.o, s.gate, s.up)
        do {
            // Attention block
            eachRows(n) { r in
                VectorMath.rmsNorm(rows: r.count, x + r.lowerBound * d, stride: d, weight: w.attentionNorm, count: d, eps: eps,
                                   into: h + r.lowerBound * d, outputStride: d)
            }
            Matmul.multiply((w.query, q), (w.key, k), (w.value, v), input: h, batch: n, pool: pool, path: path, modes: modes)
            addBias(w.queryBias, q, rows: n)
            addBias(w.keyBias, k, rows: n)
            addBias(w.valueBias, v, rows: n)
            prepareQueriesAndKeys(layer: layer, weights: w, batch: batch, q: q, k: k)
            observe("Qcur-\(layer)", n, q, width: c.queryDimension)
            observe("Kcur-\(layer)", n, k, width: c.kvDimension)
            observe("Vcur-\(layer)", n, v, width: c.kvDimension)
            eachRow(n) { i in
                let (seq, cell) = cells[i]
                let kd = seq.key(layer: layer, cell: cell), vd = seq.value(layer: layer, cell: cell)
                let ks = k + i * c.kvDimension, vs = v + i * c.kvDimension
                VectorMath.toF16(ks, count: c.kvDimension, into: kd, path: path)
                VectorMath.toF16(vs, count: c.kvDimension, into: vd, path: path)
            }
            attend(layer: layer, batch: batch, cells: cells, groups: groups, q: q, into: attn)
            observe("kqv_out-\(layer)", n, attn, width: c.queryDimension)
            Matmul.multiply(w.output, attn, batch: n, into: o, pool: pool, path: path, modes: modes)
            eachRows(n) { r in
                let lo = r.lowerBound
                if let post = w.postAttentionNorm {
                    VectorMath.rmsNorm(rows: r.count, o + lo * d, stride: d, weight: post, count: d, eps: eps, into: o + lo * d, outputStride: d)
                }
                for j in lo * d..<r.upperBound * d { x[j] += o[j] }
                VectorMath.rmsNorm(rows: r.count, x + lo * d, stride: d, weight: w.ffnNorm, count: d, eps: eps, into: h + lo * d, outputStride: d)
            }

            // Feed-forward block
            Matmul.multiply((w.gate, gate), (w.up, up), input: h, batch: n, pool: pool, path: path, modes: modes)
            let ff = c.feedForwardLength
            eachRow(n) { i in
                VectorMath.gatedActivation(gate: gate + i * ff, up: up + i * ff, count: ff, activation: c.activation,
                                           into: gate + i * ff, path: path)
            }
            observe("ffn_geglu-\(layer)", n, gate, width: c.feedForwardLength)
            Matmul.multiply(w.down, gate, batch: n, into: o, pool: pool, path: path, modes: modes)
            observe("ffn_out-\(layer)", n, o, width: d)
            eachRows(n) { r in
                let lo = r.lowerBound
                if let post = w.postFFNNorm {
                    VectorMath.rmsNorm(rows: r.count, o + lo * d, stride: d, weight: post, count: d, eps: eps, into: o + lo * d, outputStride: d)
                }
                for j in lo * d..<r.upperBound * d { x[j] += o[j] }
            }
            observe("l_out-\(layer)", n, x, width: d)
        }
    }

    /// Runs `body` for each of `n` rows, on the pool when there are enough rows to share; each
    /// row's work is the same either way.
    private func eachRow(_ n: Int, _ body: (Int) -> Void) {
        pool.parallelFor(n, minimumChunk: 8) { range in for i in range { body(i) } }
    }

    /// As `eachRow`, handing each task its range of rows.
    private func eachRows(_ n: Int, _ body: (Range<Int>) -> Void) {
        pool.parallelFor(n, minimumChunk: 8, body)
    }

    private func addBias(_ bias: [Float]?, _ y: UnsafeMutablePointer<Float>, rows: Int) {
        guard let bias else { return }
        let m = bias.count
        for i in 0..<rows { for j in 0..<m { y[i * m + j] += bias[j] } }
    }

    /// Per-head Q/K norms (Gemma) and RoPE at each row's position.
    private func prepareQueriesAndKeys(layer: Int, weights w: LayerWeights, batch: Batch,
                                       q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>) {
        let c = config, hd = c.headDimension
        let (base, scale) = ropeParameters(layer)
        let rows = batch.rows
        eachRow(rows.count) { i in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: c.ropeDimensions) { anglesBuffer in
                let angles = anglesBuffer.baseAddress!
                RoPE.angles(position: Float(rows[i].position), dims: c.ropeDimensions, base: base, scale: scale, into: angles)
                let qi = q + i * c.queryDimension, ki = k + i * c.kvDimension
                if let norm = w.queryNorm {
                    VectorMath.rmsNorm(rows: c.headCount, qi, stride: hd, weight: norm, count: hd, eps: c.rmsEpsilon, into: qi, outputStride: hd)
                }
                if let norm = w.keyNorm {
                    VectorMath.rmsNorm(rows: c.headCountKV, ki, stride: hd, weight: norm, count: hd, eps: c.rmsEpsilon, into: ki, outputStride: hd)
                }
                for h in 0..<c.headCount { RoPE.apply(qi + h * hd, dims: c.ropeDimensions, layout: c.ropeLayout, angles: angles) }
                if c.scalesQueries { for j in 0..<c.queryDimension { qi[j] *= c.attentionScale } }
                for h in 0..<c.headCountKV { RoPE.apply(ki + h * hd, dims: c.ropeDimensions, layout: c.ropeLayout, angles: angles) }
            }
        }
    }

    // out = Σ_c softmax_c(scale·q·k_c)·v_c over the cells the row may see (causal, sliding window)
    private func attend(layer: Int, batch: Batch, cells: [(SequenceCells, Int)], groups rowGroups: [[Int32]],
                        q: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let c = config, hd = c.headDimension
        let window = c.slidingLayers[layer] ? c.slidingWindow : nil
        let groups = c.headCount / c.headCountKV
        let rows = batch.rows
        let scoreScale: Float = c.scalesQueries ? 1 : c.attentionScale
        // In llama.cpp numerics, a micro-batch group of at least Attention.tileRows rows (a prompt
        // chunk) takes the tiled path, as llama.cpp does for such micro-batches; its rows form tiles,
        // one task per tile and head. Invariant numerics take the one-row path for every row, so a
        // token's keys and values are the same whether it came in a prompt chunk or was generated.
        var tiles: [[Int32]] = [], single: [Int] = []
        for group in rowGroups {
            if numerics == .llamaCpp && group.count >= Attention.tileRows {
                for start in stride(from: 0, to: group.count, by: Attention.tileRows) {
                    tiles.append(Array(group[start..<min(start + Attention.tileRows, group.count)]))
                }
            } else {
                single += group.map(Int.init)
            }
        }
        let tilePositions = tiles.map { $0.map { rows[Int($0)].position } }
        // Other rows: a task takes all query heads of one KV head (each cached row read once for
        // them), or one head when there are too few rows to keep the threads busy; each head's
        // result is the same either way.
        let headsPerTask = single.count * c.headCountKV >= 2 * pool.threadCount ? groups : 1
        let tasksPerRow = c.headCount / headsPerTask
        let tiledTasks = tiles.count * c.headCount
        let scratchBytes = Attention.scratchBytes(heads: headsPerTask, headDimension: hd)
        pool.parallelFor(tiledTasks + single.count * tasksPerRow) { range in
            withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 64) { scratch in
                for task in range {
                    if task < tiledTasks {
                        let t = task / c.headCount, h = task % c.headCount
                        let (seq, _) = cells[Int(tiles[t][0])]
                        let kvOffset = (h / groups) * hd
                        tiles[t].withUnsafeBufferPointer { tileRows in
                            tilePositions[t].withUnsafeBufferPointer { positions in
                                Attention.attendTiled(
                                    queries: q + h * hd, queryStride: c.queryDimension, rows: tileRows.baseAddress!,
                                    queryPositions: positions.baseAddress!, count: tileRows.count,
                                    keys: seq.key(layer: layer, cell: 0) + kvOffset,
                                    values: seq.value(layer: layer, cell: 0) + kvOffset,
                                    stride: c.kvDimension, positions: seq.positions, cellCount: seq.count,
                                    window: window, scale: scoreScale, headDimension: hd,
                                    into: out + h * hd, outputStride: c.queryDimension, path: kernelPath)
                            }
                        }
                        continue
                    }
                    let rest = task - tiledTasks
                    let i = single[rest / tasksPerRow], h = (rest % tasksPerRow) * headsPerTask
                    let (seq, _) = cells[i]
                    let kvOffset = (h / groups) * hd
                    Attention.attendHeads(
                        queries: q + i * c.queryDimension + h * hd, queryStride: hd, heads: headsPerTask,
                        keys: seq.key(layer: layer, cell: 0) + kvOffset,
                        values: seq.value(layer: layer, cell: 0) + kvOffset,
                        stride: c.kvDimension, positions: seq.positions, cellCount: seq.count,
                        queryPosition: rows[i].position, window: window, scale: scoreScale,
                        headDimension: hd, scratch: scratch.baseAddress!,
                        into: out + i * c.queryDimension + h * hd, outputStride: hd, path: kernelPath)
                }
            }
        }
    }

    private func computeLogits(_ batch: Batch, hidden x: UnsafeMutablePointer<Float>, scratch s: ForwardScratch) -> [Float] {
        let d = config.embeddingLength, vocab = config.vocabularySize
        let wanted = batch.rows.indices.filter { batch.rows[$0].wantsLogits }
        guard !wanted.isEmpty else { return [] }
        let normed = s.h
        for (j, i) in wanted.enumerated() {
            VectorMath.rmsNorm(x + i * d, weight: weights.outputNorm, count: d, eps: config.rmsEpsilon, into: normed + j * d)
        }
        var logits = [Float](repeating: 0, count: wanted.count * vocab)
        logits.withUnsafeMutableBufferPointer { lb in
            Matmul.multiply(weights.output, normed, batch: wanted.count, into: lb.baseAddress!, pool: pool, path: kernelPath)
        }
        return logits
    }
}

/// Activation buffers of a forward pass for up to `rows` rows, allocated once and reused.
final class ForwardScratch {
    typealias P = UnsafeMutablePointer<Float>
    let rows: Int
    // x: [rows][embedding] residual stream; h: [rows][embedding] normed input; q, attn: [rows][query];
    // k, v: [rows][kv]; o: [rows][embedding] block output; gate, up: [rows][feed-forward]
    let x, h, q, k, v, attn, o, gate, up: P

    init(config c: ModelConfiguration, rows n: Int) {
        rows = n
        func make(_ width: Int) -> P {
            let p = P.allocate(capacity: n * width)
            p.initialize(repeating: 0, count: n * width)
            return p
        }
        x = make(c.embeddingLength)
        h = make(c.embeddingLength)
        q = make(c.queryDimension)
        k = make(c.kvDimension)
        v = make(c.kvDimension)
        attn = make(c.queryDimension)
        o = make(c.embeddingLength)
        gate = make(c.feedForwardLength)
        up = make(c.feedForwardLength)
    }

    deinit {
        for p in [x, h, q, k, v, attn, o, gate, up] { p.deallocate() }
    }
}
