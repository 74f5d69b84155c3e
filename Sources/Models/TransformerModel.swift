import Foundation
import GGUF
import CriaNumerics
import GPU

/// A transformer (every architecture in `Architectures/`: decoders, and the BERT-family encoders
/// that only make embeddings) that runs batches of rows over a KV cache.
///
/// The forward pass is written once; `ModelConfiguration` carries each architecture's choices.
/// Every row's result depends only on its own sequence's cache and token — never on which other
/// rows share the batch — because each output element is computed by one fixed-order reduction.
public final class TransformerModel: @unchecked Sendable {
    public let file: GGUFFile
    public let config: ModelConfiguration
    public internal(set) var weights: ModelWeights
    public let pool: ComputePool
    /// Which kernel implementation every step uses (one path per model keeps results batch-invariant).
    public let kernelPath: KernelPath
    /// Threads for single-row steps (decode) and for multi-row steps (prompts, several sequences).
    public let threads: Int, batchThreads: Int
    /// Packed copies of the weights the packed kernels read (`ModelWeights.pack`).
    public let packedWeights = PackedWeights()
    /// Activation buffers, kept across calls and grown when a batch has more rows.
    private var scratch: ForwardScratch?
    /// The layers (and LM head) that run on Vulkan devices (`-ngl`); nil: all on the CPU.
    let offload: ModelOffload?
    /// How many layers run on a device, and whether the LM head does.
    public var offloadedLayers: Int { offload?.plan.offloadedLayers ?? 0 }
    public var offloadsOutput: Bool { offload?.outputBackend != nil }
    /// The devices the offloaded layers run on.
    public var offloadDevices: [VulkanDeviceInfo] { offload?.backends.map { $0.device.info } ?? [] }

    /// Called with named intermediate tensors (llama.cpp's names, e.g. "l_out-3") as the forward
    /// pass computes them: rows × width floats. For numerical debugging against llama.cpp's
    /// eval callback; nil in normal use.
    public var tensorObserver: ((String, Int, UnsafeBufferPointer<Float>) -> Void)?

    func observe(_ name: @autoclosure () -> String, _ rows: Int, _ p: UnsafePointer<Float>, width: Int) {
        guard let tensorObserver else { return }
        tensorObserver(name(), rows, UnsafeBufferPointer(start: p, count: rows * width))
    }

    /// llama.cpp numerics only: rows of one sequence are taken in groups of this many (llama.cpp's
    /// micro-batch, `-ub`), and a group's size picks their float orders (see ForwardSchedule).
    public var microBatchSize = 512

    /// Whether rows follow llama.cpp's batch-dependent orders or one fixed order (the default).
    public var numerics = NumericsMode.invariant

    /// The order of products whose every row takes llama.cpp's one-row order in llama.cpp numerics
    /// (the LM head, the experts): its eight Q5_0 lanes there, the invariant order otherwise.
    public var uniformOrder: RowOrder { numerics == .llamaCpp ? .q0Lanes : [] }

    /// LoRA adapters applied at run time (`--lora`), by id; each row uses its sequence's scales
    /// from the batch (`Batch.adapterScales`) or, for sequences without one, `adapterScales`.
    public var adapters: [LoraAdapter] = []
    public var adapterScales: [Float] = []
    /// The `--lora-base` model whose matrices replaced the adapted ones (kept open for them).
    var loraBaseFile: GGUFFile?

    /// `threads` run single-row (decode) steps, `batchThreads` (default: `threads`) multi-row ones;
    /// `offload` puts layers on Vulkan devices (their weights are copied there now); `rope`
    /// replaces the file's RoPE parameters (`--rope-freq-base`, …).
    public init(file: GGUFFile, threads: Int, batchThreads: Int? = nil,
                kernelPath: KernelPath = KernelDispatch.current, offload request: OffloadRequest? = nil,
                rope: RoPEOverride = RoPEOverride()) throws {
        self.file = file
        let vocab = file.metadata.array("tokenizer.ggml.tokens")?.count
            ?? file.tensor(named: "token_embd.weight")?.shape.last ?? 0
        var config = try ModelConfiguration(metadata: file.metadata, vocabularySize: vocab)
        config.apply(rope, metadata: file.metadata)
        self.config = config
        weights = try ModelWeights(file: file, config: config)
        self.threads = max(1, threads)
        self.batchThreads = max(1, batchThreads ?? threads)
        self.kernelPath = kernelPath
        pool = ComputePool(threads: max(self.threads, self.batchThreads))
        let plan = try request?.plan(layers: config.layerCount)
        if let plan {
            offload = try Self.makeOffload(plan, weights: weights, config: config, storage: file.storage)
        } else {
            offload = nil
        }
        if KernelDispatch.packsWeights {
            weights.pack(into: packedWeights, path: kernelPath, storage: file.storage, pool: pool,
                         skippingLayers: Set(offload.map { Array($0.layerBackends.keys) } ?? []), skippingOutput: offload?.outputBackend != nil)
        }
        calibratePrefetch()
    }

    public convenience init(path: String, mode: GGUFStorage.LoadMode = .mmap, threads: Int, batchThreads: Int? = nil,
                            kernelPath: KernelPath = KernelDispatch.current, offload: OffloadRequest? = nil,
                            rope: RoPEOverride = RoPEOverride()) throws {
        try self.init(file: GGUFFile(path: path, mode: mode), threads: threads, batchThreads: batchThreads,
                      kernelPath: kernelPath, offload: offload, rope: rope)
    }

    /// A cache whose sequences each hold up to `capacity` tokens, in f16.
    public func makeCache(capacity: Int) -> KVCache {
        KVCache(layerCount: config.layerCount, kvDimension: config.kvDimension, capacity: capacity,
                layerMemory: offload?.kvMemory)
    }

    /// A cache storing keys as `keyType` and values as `valueType` (`-ctk`/`-ctv`): one of
    /// `KVCacheFormats.supported`, in whole blocks per attention head. Refused when `sequences`
    /// full sequences of `capacity` tokens would not fit in the machine's memory (llama.cpp
    /// allocates its whole cache at startup and fails there; Cria allocates a sequence's cells on
    /// its first use, so without this a first request would meet the failure instead).
    public func makeCache(capacity: Int, keyType: GGMLType, valueType: GGMLType, sequences: Int = 1) throws(ModelError) -> KVCache {
        for (type, flag) in [(keyType, "-ctk"), (valueType, "-ctv")] {
            guard offload == nil || type == .f16 else {
                throw .offload("\(flag) \(type.name.lowercased()): offloaded layers keep their KV cache in f16")
            }
            guard KVCacheFormats.supported.contains(type) else {
                throw .invalidHyperparameter("\(flag) \(type.name.lowercased()): the KV cache stores \(KVCacheFormats.names)")
            }
            guard KVCacheFormats.fits(type, count: config.headDimension) else {
                throw .invalidHyperparameter("\(flag) \(type.name.lowercased()) needs a head dimension that is a multiple of "
                    + "\(type.blockSize); this model's is \(config.headDimension)")
            }
        }
        let hd = config.headDimension
        let cache = KVCache(layerCount: config.layerCount, kvDimension: config.kvDimension, capacity: capacity,
                            keyType: keyType, valueType: valueType,
                            keyRotation: KVCacheFormats.rotation(for: keyType, headDimension: hd, keys: true),
                            valueRotation: KVCacheFormats.rotation(for: valueType, headDimension: hd, keys: false),
                            layerMemory: offload?.kvMemory)
        let memory = ProcessInfo.processInfo.physicalMemory
        let bytes = cache.bytes(sequences: max(1, sequences))
        guard let bytes, UInt64(bytes) <= memory else {
            let gib = { (b: Double) in String(format: "%.1f GiB", b / Double(1 << 30)) }
            let need = bytes.map { gib(Double($0)) } ?? "more bytes than a 64-bit count holds"
            let who = sequences > 1 ? "\(sequences) sequences of \(capacity) tokens" : "\(capacity) tokens"
            throw .cacheTooLarge("\(who) need \(need), more than this machine's \(gib(Double(memory))) of memory")
        }
        return cache
    }

    /// Runs `batch`, appending its keys and values to `cache`, and returns the logits of the rows
    /// that asked for them, in row order: `logitRowCount × vocabularySize` floats.
    public func forward(_ batch: Batch, cache: KVCache) throws -> [Float] {
        guard !config.isEncoder else {
            throw ModelError.badBatch("\(config.architecture) is an embedding model: it has no output layer to predict tokens with")
        }
        guard let (x, s) = try residualStream(batch, cache: cache) else { return [] }
        return try computeLogits(batch, hidden: x, scratch: s)
    }

    /// Runs `batch` like `forward` but returns, for every row in row order, the final hidden
    /// state after the output norm (`count × embeddingLength` floats): what embeddings pool.
    /// Encoders have no output norm: their last layer's output is the state. Without causal
    /// attention a sequence's rows must all be in this batch (its earlier cache is not attended
    /// consistently otherwise), so the caller sends each sequence whole.
    public func forwardHidden(_ batch: Batch, cache: KVCache) throws -> [Float] {
        guard let (x, _) = try residualStream(batch, cache: cache) else { return [] }
        let n = batch.count, d = config.embeddingLength
        guard let outputNorm = weights.outputNorm else { return Array(UnsafeBufferPointer(start: x, count: n * d)) }
        var out = [Float](repeating: 0, count: n * d)
        out.withUnsafeMutableBufferPointer { ob in
            for i in 0..<n {
                VectorMath.rmsNorm(x + i * d, weight: outputNorm, count: d, eps: config.rmsEpsilon,
                                   into: ob.baseAddress! + i * d)
            }
        }
        return out
    }

    /// Embeds the batch and runs every layer over it; returns the residual stream
    /// (`count × embeddingLength`, inside the reused scratch), or nil for an empty batch.
    private func residualStream(_ batch: Batch, cache: KVCache) throws -> (UnsafeMutablePointer<Float>, ForwardScratch)? {
        if offload != nil, cache.layerMemory !== offload?.kvMemory {
            throw ModelError.offload("this cache was not made by the offloaded model (makeCache), so its offloaded layers are not on the device")
        }
        if offload != nil, !adapters.isEmpty {
            throw ModelError.offload("LoRA adapters do not run on the Vulkan backend; load the model without -ngl to use them")
        }
        let cells = try assignCells(batch, cache: cache)
        let n = batch.count
        guard n > 0 else { return nil }
        pool.activeThreads = n == 1 ? threads : batchThreads
        if scratch == nil || scratch!.rows < n { scratch = ForwardScratch(config: config, rows: n) }
        let s = scratch!
        embed(batch, into: s.x)
        observe("inp_scaled", n, s.x, width: config.embeddingLength)
        // (tiles follow causal masks; bidirectional rows take the single-row path)
        let schedule = ForwardSchedule(batch, numerics: numerics, microBatchSize: microBatchSize,
                                       tiledAttention: cache.keyType == .f16 && cache.valueType == .f16 && config.causalAttention)
        try schedule.rowOrders.withUnsafeBufferPointer { orders in
            let pass = ForwardPass(batch: batch, cache: cache, cells: cells, scratch: s, schedule: schedule, orders: orders.baseAddress!,
                                   adapterScales: rowAdapterScales(batch), ropeFactors: ropeFactors(cache))
            try runLayers(pass)
        }
        return (s.x, s)
    }

    /// Moves the cached tokens of `sequence` at positions in `range` by `delta` (context shift),
    /// rotating their keys so attention sees them at the new positions.
    public func shift(_ cache: KVCache, sequence: Int, positions range: Range<Int32>, by delta: Int32) {
        guard delta != 0 else { return }
        reposition(cache, sequence: sequence, positions: range) { $0 + delta }
    }

    /// Divides the positions in `range` of `sequence` by `divisor` (rounding down, so groups of
    /// `divisor` tokens share a position: self-extend), rotating their keys to match.
    public func divide(_ cache: KVCache, sequence: Int, positions range: Range<Int32>, by divisor: Int32) {
        guard divisor > 1 else { return }
        reposition(cache, sequence: sequence, positions: range) { $0 / divisor }
    }

    private func reposition(_ cache: KVCache, sequence: Int, positions range: Range<Int32>, to newPosition: (Int32) -> Int32) {
        let moved = cache.repositionCells(sequence, range: range, to: newPosition)
        guard !moved.isEmpty, let s = cache.existingCells(sequence) else { return }
        let c = config
        let byDelta = Dictionary(grouping: moved, by: \.delta)
        // Keys are read back as floats, rotated, and stored again in the cache's format (for a
        // quantized cache that is a second rounding, and its Hadamard rotation is undone around
        // RoPE, as in llama.cpp's K shift).
        // In invariant numerics a shift is a pure rotation. llama.cpp's K shift (and its
        // self-extend division) instead applies
        // the layer's whole RoPE again, magnitude included (LongRoPE's attn_factor, YaRN's
        // magnitude: shifted keys end up scaled twice), and also to layers that use no RoPE
        // (SmolLM3's every fourth); llama.cpp numerics reproduce that, as they reproduce its
        // other quirks.
        let asLlamaCpp = numerics == .llamaCpp
        let factors = ropeFactors(cache)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: c.ropeDimensions + c.kvDimension) { buffer in
            let angles = buffer.baseAddress!, row = angles + c.ropeDimensions
            for layer in 0..<c.layerCount where c.ropeLayers[layer] || asLlamaCpp {
                let rope = ropeParameters(layer)
                let yarn = asLlamaCpp ? rope.yarn : rope.yarn.map { RoPE.YaRN(low: $0.low, high: $0.high, magnitude: 1) }
                for (delta, cells) in byDelta.sorted(by: { $0.key < $1.key }) {
                    withFactors(factors) { f in
                        RoPE.angles(position: Float(delta), dims: c.ropeDimensions, base: rope.base, scale: rope.scale,
                                    factors: f, attentionFactor: asLlamaCpp ? rope.attentionFactor : 1, yarn: yarn,
                                    into: angles)
                    }
                    for (cell, _) in cells {
                        let k = s.key(layer: layer, cell: cell)
                        Dequantize.rowUnchecked(cache.keyType, k, count: c.kvDimension, into: row)
                        if cache.keyRotation > 0 { KVCacheFormats.hadamard(row, count: c.kvDimension, block: cache.keyRotation) }
                        for h in 0..<c.headCountKV {
                            RoPE.apply(row + h * c.headDimension, dims: c.ropeDimensions, layout: c.ropeLayout, angles: angles)
                        }
                        if cache.keyRotation > 0 { KVCacheFormats.hadamard(row, count: c.kvDimension, block: cache.keyRotation) }
                        KVCacheFormats.store(row, count: c.kvDimension, as: cache.keyType, into: k, path: kernelPath)
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
            if let positions = weights.encoderInput?.positions {
                guard row.position >= 0, Int(row.position) < positions.rows else {
                    throw ModelError.badBatch("position \(row.position) is beyond the model's \(positions.rows) position embeddings")
                }
            }
            var state: (cells: SequenceCells, count: Int, last: Int32)
            if let known = next[row.sequence] {
                state = known
            } else {
                let s = try cache.cells(row.sequence)
                state = (s, s.count, s.count > 0 ? s.positions[s.count - 1] : -1)
            }
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
            if let input = weights.encoderInput { addEncoderInput(input, position: Int(row.position), into: xi) }
        }
    }

    /// x = LN((token + type₀) + position), in llama.cpp's order of additions.
    private func addEncoderInput(_ input: EncoderInput, position: Int, into x: UnsafeMutablePointer<Float>) {
        let d = config.embeddingLength
        if let type = input.tokenType { for j in 0..<d { x[j] += type[j] } }
        if let positions = input.positions {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: d) { p in
                positions.dequantizeRow(position, into: p.baseAddress!)
                for j in 0..<d { x[j] = p[j] + x[j] }
            }
        }
        VectorMath.layerNorm(rows: 1, x, stride: d, weight: input.normWeight, bias: input.normBias, count: d,
                             eps: config.rmsEpsilon, into: x, outputStride: d)
    }

    /// Sliding-window layers use their own base and scaling (none, except for gpt-oss).
    func ropeParameters(_ layer: Int) -> (base: Float, scale: Float, attentionFactor: Float, yarn: RoPE.YaRN?) {
        let c = config
        return c.slidingLayers[layer]
            ? (c.ropeBaseSliding, c.ropeScaleSliding, c.ropeAttentionFactorSliding, c.ropeYaRNSliding)
            : (c.ropeBase, c.ropeScale, c.ropeAttentionFactor, c.ropeYaRN)
    }

    /// The RoPE divisors for sequences in `cache` (see `ModelWeights.ropeFactors`).
    private func ropeFactors(_ cache: KVCache) -> [Float]? {
        weights.ropeFactors(capacity: cache.capacity, originalContext: config.ropeOriginalContext)
    }

    /// Runs `body` with the divisors' storage, nil for plain RoPE (llama.cpp gives the factors to
    /// every layer of the architectures that have them).
    private func withFactors(_ factors: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
        guard let factors else { return body(nil) }
        factors.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// x += attention(norm(x)), and the rows' keys and values into the cache.
    func attentionBlock(_ layer: Int, _ pass: ForwardPass) {
        let c = config, w = weights.layers[layer], s = pass.scratch, n = pass.batch.count, d = c.embeddingLength
        let (x, h, q, k, v, o) = (s.x, s.h, s.q, s.k, s.v, s.o)
        normalizeInput(x, weight: w.attentionNorm, into: h, rows: n)
        observe("attn_norm-\(layer)", n, h, width: d)
        Matmul.multiply((w.query, q), (w.key, k), (w.value, v), input: h, batch: n, pool: pool, path: kernelPath,
                        orders: pass.orders)
        addAdapterDeltas(.query, layer: layer, input: h, into: q, pass)
        addAdapterDeltas(.key, layer: layer, input: h, into: k, pass)
        addAdapterDeltas(.value, layer: layer, input: h, into: v, pass)
        addBias(w.queryBias, q, rows: n)
        addBias(w.keyBias, k, rows: n)
        addBias(w.valueBias, v, rows: n)
        prepareQueriesAndKeys(layer: layer, weights: w, pass, q: q, k: k)
        observe("Qcur-\(layer)", n, q, width: c.queryDimension)
        observe("Kcur-\(layer)", n, k, width: c.kvDimension)
        observe("Vcur-\(layer)", n, v, width: c.kvDimension)
        rotate(pass.cache.keyRotation, q, width: c.queryDimension, rows: n)
        rotate(pass.cache.keyRotation, k, width: c.kvDimension, rows: n)
        rotate(pass.cache.valueRotation, v, width: c.kvDimension, rows: n)
        storeKeysAndValues(layer, pass)
        attend(layer, pass, into: s.attn)
        rotate(pass.cache.valueRotation, s.attn, width: c.queryDimension, rows: n)
        observe("kqv_out-\(layer)", n, s.attn, width: c.queryDimension)
        Matmul.multiply(w.output, s.attn, batch: n, into: o, pool: pool, path: kernelPath, orders: pass.orders)
        addAdapterDeltas(.output, layer: layer, input: s.attn, into: o, pass)
        addBias(w.outputBias, o, rows: n)
        addResidual(o, to: x, rows: n, postNorm: w.postAttentionNorm, bias: w.postAttentionNormBias)
    }

    /// x += mlp(norm(x)).
    func feedForwardBlock(_ layer: Int, _ pass: ForwardPass) {
        let c = config, w = weights.layers[layer], s = pass.scratch, n = pass.batch.count, d = c.embeddingLength
        guard let wUp = w.up, let wDown = w.down else { preconditionFailure("layer \(layer) has no dense FFN") }
        let (x, h, gate, up, o) = (s.x, s.h, s.gate, s.up, s.o)
        let ff = c.feedForwardLength
        normalizeInput(x, weight: w.ffnNorm, into: h, rows: n)
        if let gateWeights = w.gate {
            Matmul.multiply((gateWeights, gate), (wUp, up), input: h, batch: n, pool: pool, path: kernelPath, orders: pass.orders)
            addAdapterDeltas(.gate, layer: layer, input: h, into: gate, pass)
            addAdapterDeltas(.up, layer: layer, input: h, into: up, pass)
            addBias(w.upBias, up, rows: n)
            addBias(w.gateBias, gate, rows: n)
            eachRow(n) { i in
                VectorMath.gatedActivation(gate: gate + i * ff, up: up + i * ff, count: ff, activation: c.activation,
                                           into: gate + i * ff, path: kernelPath)
            }
        } else {
            // act(up·h + b) (BERT's MLP), into `gate` where the down projection reads it
            Matmul.multiply(wUp, h, batch: n, into: gate, pool: pool, path: kernelPath, orders: pass.orders)
            addAdapterDeltas(.up, layer: layer, input: h, into: gate, pass)
            addBias(w.upBias, gate, rows: n)
            eachRow(n) { i in VectorMath.activate(gate + i * ff, count: ff, activation: c.activation) }
        }
        observe("ffn_geglu-\(layer)", n, gate, width: ff)
        Matmul.multiply(wDown, gate, batch: n, into: o, pool: pool, path: kernelPath, orders: pass.orders)
        addAdapterDeltas(.down, layer: layer, input: gate, into: o, pass)
        addBias(w.downBias, o, rows: n)
        observe("ffn_out-\(layer)", n, o, width: d)
        addResidual(o, to: x, rows: n, postNorm: w.postFFNNorm, bias: w.postFFNNormBias)
        observe("l_out-\(layer)", n, x, width: d)
    }

    /// h = norm(x), or x itself where the architecture does not normalize block inputs (OLMo 2).
    func normalizeInput(_ x: UnsafeMutablePointer<Float>, weight: [Float]?, into h: UnsafeMutablePointer<Float>,
                                rows n: Int) {
        let d = config.embeddingLength, eps = config.rmsEpsilon
        guard let weight else {
            h.update(from: x, count: n * d)
            return
        }
        eachRows(n) { r in
            VectorMath.rmsNorm(rows: r.count, x + r.lowerBound * d, stride: d, weight: weight, count: d,
                               eps: eps, into: h + r.lowerBound * d, outputStride: d)
        }
    }

    /// x += residualScale·postNorm(o) (Gemma and OLMo 2 normalize a block's output before adding
    /// it, Granite scales it; others add it as is), or x = LN(o + x) for BERT's post-LN.
    func addResidual(_ o: UnsafeMutablePointer<Float>, to x: UnsafeMutablePointer<Float>, rows n: Int,
                     postNorm: [Float]?, bias: [Float]? = nil) {
        let d = config.embeddingLength, eps = config.rmsEpsilon, scale = config.residualScale
        if config.normalizesResiduals, let postNorm, let bias {
            eachRows(n) { r in
                for j in r.lowerBound * d..<r.upperBound * d { x[j] = o[j] + x[j] }
                VectorMath.layerNorm(rows: r.count, x + r.lowerBound * d, stride: d, weight: postNorm, bias: bias, count: d,
                                     eps: eps, into: x + r.lowerBound * d, outputStride: d)
            }
            return
        }
        eachRows(n) { r in
            let lo = r.lowerBound
            if let postNorm {
                VectorMath.rmsNorm(rows: r.count, o + lo * d, stride: d, weight: postNorm, count: d, eps: eps,
                                   into: o + lo * d, outputStride: d)
            }
            if scale != 1 {
                for j in lo * d..<r.upperBound * d { x[j] += o[j] * scale }
            } else {
                for j in lo * d..<r.upperBound * d { x[j] += o[j] }
            }
        }
    }

    /// A quantized cache's Hadamard rotation (block `n`, 0 for none) of `rows` rows of `width` values.
    private func rotate(_ n: Int, _ x: UnsafeMutablePointer<Float>, width: Int, rows: Int) {
        guard n > 0 else { return }
        eachRows(rows) { r in KVCacheFormats.hadamard(x + r.lowerBound * width, count: r.count * width, block: n) }
    }

    /// The rows' keys and values, in the cache's formats, into their cache cells.
    private func storeKeysAndValues(_ layer: Int, _ pass: ForwardPass) {
        let width = config.kvDimension, s = pass.scratch, cache = pass.cache
        eachRow(pass.batch.count) { i in
            let (seq, cell) = pass.cells[i]
            KVCacheFormats.store(s.k + i * width, count: width, as: cache.keyType, into: seq.key(layer: layer, cell: cell),
                                 path: kernelPath)
            KVCacheFormats.store(s.v + i * width, count: width, as: cache.valueType, into: seq.value(layer: layer, cell: cell),
                                 path: kernelPath)
        }
    }

    /// Runs `body` for each of `n` rows, on the pool when there are enough rows to share; each
    /// row's work is the same either way.
    func eachRow(_ n: Int, _ body: (Int) -> Void) {
        pool.parallelFor(n, minimumChunk: 8) { range in for i in range { body(i) } }
    }

    /// As `eachRow`, handing each task its range of rows.
    func eachRows(_ n: Int, _ body: (Range<Int>) -> Void) {
        pool.parallelFor(n, minimumChunk: 8, body)
    }

    private func addBias(_ bias: [Float]?, _ y: UnsafeMutablePointer<Float>, rows: Int) {
        guard let bias else { return }
        let m = bias.count
        for i in 0..<rows { for j in 0..<m { y[i * m + j] += bias[j] } }
    }

    /// Q/K norms (per head: Gemma 3, Qwen3; over the whole row: OLMo 2), RoPE at each row's
    /// position (on layers that use it), and the query scale where it precedes attention.
    private func prepareQueriesAndKeys(layer: Int, weights w: LayerWeights, _ pass: ForwardPass,
                                       q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>) {
        let c = config, hd = c.headDimension
        let rope = ropeParameters(layer), rotates = c.ropeLayers[layer]
        // (norm span, norm count) for queries and keys
        let (qSpan, qCount) = c.queryKeyNorm == .wholeRow ? (c.queryDimension, 1) : (hd, c.headCount)
        let (kSpan, kCount) = c.queryKeyNorm == .wholeRow ? (c.kvDimension, 1) : (hd, c.headCountKV)
        let rows = pass.batch.rows
        withFactors(pass.ropeFactors) { factors in
            eachRow(rows.count) { i in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: c.ropeDimensions) { anglesBuffer in
                    let angles = anglesBuffer.baseAddress!
                    let qi = q + i * c.queryDimension, ki = k + i * c.kvDimension
                    if let norm = w.queryNorm {
                        VectorMath.rmsNorm(rows: qCount, qi, stride: qSpan, weight: norm, count: qSpan, eps: c.rmsEpsilon,
                                           into: qi, outputStride: qSpan)
                    }
                    if let norm = w.keyNorm {
                        VectorMath.rmsNorm(rows: kCount, ki, stride: kSpan, weight: norm, count: kSpan, eps: c.rmsEpsilon,
                                           into: ki, outputStride: kSpan)
                    }
                    if rotates {
                        RoPE.angles(position: Float(rows[i].position), dims: c.ropeDimensions, base: rope.base,
                                    scale: rope.scale, factors: factors, attentionFactor: rope.attentionFactor, yarn: rope.yarn,
                                    into: angles)
                        RoPE.apply(qi, heads: c.headCount, stride: hd, dims: c.ropeDimensions, layout: c.ropeLayout, angles: angles,
                                   path: kernelPath)
                    }
                    if c.scalesQueries { for j in 0..<c.queryDimension { qi[j] *= c.attentionScale } }
                    if rotates {
                        RoPE.apply(ki, heads: c.headCountKV, stride: hd, dims: c.ropeDimensions, layout: c.ropeLayout, angles: angles,
                                   path: kernelPath)
                    }
                }
            }
        }
    }

    // out = Σ_c softmax_c(scale·q·k_c)·v_c over the cells the row may see (causal, sliding window)
    private func attend(_ layer: Int, _ pass: ForwardPass, into out: UnsafeMutablePointer<Float>) {
        let c = config, tiles = pass.schedule.attentionTiles, blocks = pass.schedule.singleRowBlocks
        // Single rows, in blocks of one sequence's consecutive rows: a task takes all query heads of
        // one KV head (each cached row read once for them) when that gives every thread two tasks;
        // otherwise the largest share of a KV head's queries that still gives every thread one
        // (gemma's 4 heads on one KV head: 2 per task), down to one head. Each head's result is
        // the same either way. Tiles: one task per tile and head.
        let group = c.headCount / c.headCountKV
        let headsPerTask = blocks.count * c.headCountKV >= 2 * pool.threadCount ? group
            : (1...group).reversed().first { group % $0 == 0 && blocks.count * c.headCount / $0 >= pool.threadCount } ?? 1
        let tasksPerBlock = c.headCount / headsPerTask
        let tiledTasks = tiles.count * c.headCount
        let largest = blocks.map(\.count).max() ?? 1
        let scratchBytes = largest * Attention.scratchBytes(heads: headsPerTask, headDimension: c.headDimension)
        pool.parallelFor(tiledTasks + blocks.count * tasksPerBlock) { range in
            withUnsafeTemporaryAllocation(byteCount: scratchBytes, alignment: 64) { scratch in
                for task in range {
                    if task < tiledTasks {
                        let t = task / c.headCount
                        attendTile(tiles[t], positions: pass.schedule.attentionTilePositions[t], head: task % c.headCount,
                                   layer: layer, pass, into: out)
                    } else {
                        let rest = task - tiledTasks
                        attendRows(blocks[rest / tasksPerBlock], heads: (rest % tasksPerBlock) * headsPerTask,
                                   count: headsPerTask, layer: layer, pass, scratch: scratch.baseAddress!, into: out)
                    }
                }
            }
        }
    }

    /// Query heads `first ..< first + count` (sharing one KV head) of batch rows `rows`, consecutive
    /// rows of one sequence.
    private func attendRows(_ rows: [Int32], heads first: Int, count: Int, layer: Int, _ pass: ForwardPass,
                            scratch: UnsafeMutableRawPointer, into out: UnsafeMutablePointer<Float>) {
        let c = config, hd = c.headDimension
        let (seq, _) = pass.cells[Int(rows[0])]
        let kvHead = first / (c.headCount / c.headCountKV), cache = pass.cache
        let cached = Attention.CachedRows(
            keys: seq.key(layer: layer, cell: 0) + kvHead * KVCacheFormats.rowBytes(cache.keyType, count: hd),
            keyType: cache.keyType, keyStride: cache.keyRowBytes,
            values: seq.value(layer: layer, cell: 0) + kvHead * KVCacheFormats.rowBytes(cache.valueType, count: hd),
            valueType: cache.valueType, valueStride: cache.valueRowBytes)
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: rows.count) { queryPositions in
            for (r, i) in rows.enumerated() {
                queryPositions[r] = config.causalAttention ? pass.batch.rows[Int(i)].position : Int32.max
            }
            rows.withUnsafeBufferPointer { rowIndices in
                withSinks(layer) { sinks in
                    Attention.attendRows(
                        queries: pass.scratch.q + first * hd, queryRowStride: c.queryDimension, rows: rowIndices.baseAddress!,
                        queryPositions: queryPositions.baseAddress!, count: rows.count, queryStride: hd, heads: count,
                        cache: cached, positions: seq.positions, cellCount: seq.count, window: window(layer), scale: scoreScale,
                        softcap: config.attentionSoftcap ?? 0, sinks: sinks.map { $0 + first }, headDimension: hd,
                        scratch: scratch, into: out + first * hd, outputRowStride: c.queryDimension, outputStride: hd,
                        path: kernelPath)
                }
            }
        }
    }

    /// Runs `body` with the layer's per-head attention sinks (gpt-oss), nil where it has none.
    private func withSinks(_ layer: Int, _ body: (UnsafePointer<Float>?) -> Void) {
        guard let sinks = weights.layers[layer].attentionSinks else { return body(nil) }
        sinks.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// One query head of a tile of rows of one sequence, in llama.cpp's tiled attention order.
    private func attendTile(_ tile: [Int32], positions: [Int32], head h: Int, layer: Int, _ pass: ForwardPass,
                            into out: UnsafeMutablePointer<Float>) {
        let c = config, hd = c.headDimension
        let (seq, _) = pass.cells[Int(tile[0])]
        let kvOffset = (h / (c.headCount / c.headCountKV)) * hd
        tile.withUnsafeBufferPointer { rows in
            positions.withUnsafeBufferPointer { queryPositions in
                Attention.attendTiled(
                    queries: pass.scratch.q + h * hd, queryStride: c.queryDimension, rows: rows.baseAddress!,
                    queryPositions: queryPositions.baseAddress!, count: rows.count,
                    keys: f16(seq.key(layer: layer, cell: 0)) + kvOffset, values: f16(seq.value(layer: layer, cell: 0)) + kvOffset,
                    stride: c.kvDimension, positions: seq.positions, cellCount: seq.count,
                    window: window(layer), scale: scoreScale, softcap: config.attentionSoftcap ?? 0,
                    sink: weights.layers[layer].attentionSinks?[h], headDimension: hd,
                    into: out + h * hd, outputStride: c.queryDimension, path: kernelPath)
            }
        }
    }

    /// Tiles are scheduled only over an f16 cache (as llama.cpp tiles only f16 or f32 K and V).
    private func f16(_ p: UnsafeMutableRawPointer) -> UnsafePointer<Float16> {
        UnsafePointer(p.assumingMemoryBound(to: Float16.self))
    }

    /// The sliding window of `layer`, nil for global-attention layers.
    private func window(_ layer: Int) -> Int? { config.slidingLayers[layer] ? config.slidingWindow : nil }

    /// The factor on q·k: 1 when the queries were already scaled (Gemma).
    private var scoreScale: Float { config.scalesQueries ? 1 : config.attentionScale }

    private func computeLogits(_ batch: Batch, hidden x: UnsafeMutablePointer<Float>, scratch s: ForwardScratch) throws -> [Float] {
        let d = config.embeddingLength, vocab = config.vocabularySize
        let wanted = batch.rows.indices.filter { batch.rows[$0].wantsLogits }
        guard !wanted.isEmpty else { return [] }
        let normed = s.h
        guard let outputNorm = weights.outputNorm else { return [] }  // (encoders never get here: see forward)
        var logits = [Float](repeating: 0, count: wanted.count * vocab)
        if let backend = offload?.outputBackend {
            try logits.withUnsafeMutableBufferPointer { try deviceLogits(backend, hidden: x, wanted: wanted, into: $0.baseAddress!) }
        } else {
            for (j, i) in wanted.enumerated() {
                VectorMath.rmsNorm(x + i * d, weight: outputNorm, count: d, eps: config.rmsEpsilon, into: normed + j * d)
            }
            let orders = [RowOrder](repeating: uniformOrder, count: wanted.count)
            logits.withUnsafeMutableBufferPointer { lb in
                Matmul.multiply(weights.output, normed, batch: wanted.count, into: lb.baseAddress!, pool: pool, path: kernelPath,
                                orders: orders)
            }
        }
        scaleLogits(&logits)
        return logits
    }

    /// Granite's logit divisor (as a multiplication by its reciprocal, like llama.cpp) and Gemma 2's
    /// soft-cap: cap·tanhf(logit·(1/cap)).
    private func scaleLogits(_ logits: inout [Float]) {
        if config.logitScale != 1 {
            let m = 1 / config.logitScale
            for j in logits.indices { logits[j] *= m }
        }
        if let cap = config.finalLogitSoftcap {
            let inverse = 1 / cap
            for j in logits.indices { logits[j] = tanhf(logits[j] * inverse) * cap }
        }
    }
}

/// What every step of one forward pass reads: the batch, its rows' cache cells, the buffers and
/// the schedule.
struct ForwardPass {
    let batch: Batch
    let cache: KVCache
    let cells: [(SequenceCells, Int)]
    let scratch: ForwardScratch
    let schedule: ForwardSchedule
    let orders: UnsafePointer<RowOrder>
    /// Per row, the user scale of each adapter; nil when no row uses one.
    let adapterScales: [[Float]]?
    /// RoPE divisors for this cache's context size, nil for plain RoPE.
    let ropeFactors: [Float]?
}

/// Activation buffers of a forward pass for up to `rows` rows, allocated once and reused.
final class ForwardScratch {
    typealias P = UnsafeMutablePointer<Float>
    let rows: Int
    // x: [rows][embedding] residual stream; h: [rows][embedding] normed input; q, attn: [rows][query];
    // k, v: [rows][kv]; o: [rows][embedding] block output; gate, up: [rows][feed-forward]
    let x, h, q, k, v, attn, o, gate, up: P
    /// The mixture-of-experts block's buffers, for models that have one.
    let experts: ExpertScratch?

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
        // (a mixture-of-experts model uses them only for its shared expert)
        let ff = c.experts.map { $0.sharedFeedForwardLength ?? 1 } ?? c.feedForwardLength
        gate = make(ff)
        up = make(ff)
        experts = c.experts.map { ExpertScratch(config: c, experts: $0, rows: n) }
    }

    deinit {
        for p in [x, h, q, k, v, attn, o, gate, up] { p.deallocate() }
    }
}
