import GGUF
import GPU
import CriaNumerics

/// The offloaded part of a model (`OffloadPlan`): the devices and which layers each runs.
final class ModelOffload: @unchecked Sendable {
    let plan: OffloadPlan
    let backends: [DeviceBackend]
    let layerBackends: [Int: DeviceBackend]
    let outputBackend: DeviceBackend?
    let kvMemory: DeviceKVMemory

    init(plan: OffloadPlan, backends: [DeviceBackend]) {
        self.plan = plan
        self.backends = backends
        func backend(_ index: Int?) -> DeviceBackend? { index.flatMap { i in backends.first { $0.index == i } } }
        var layers: [Int: DeviceBackend] = [:]
        for (layer, device) in plan.layerDevices.enumerated() { if let b = backend(device) { layers[layer] = b } }
        layerBackends = layers
        outputBackend = backend(plan.outputDevice)
        kvMemory = DeviceKVMemory(layerBackends: layers)
    }
}

extension TransformerModel {
    /// Why `config` cannot run on the Vulkan backend, nil when it can: the device runs the dense,
    /// causal, RMS-normed decoder block with an f16 cache; other blocks stay on the CPU.
    static func offloadObstacle(_ c: ModelConfiguration) -> String? {
        if c.isEncoder || !c.causalAttention || c.normKind != .rms || c.normalizesResiduals {
            return "\(c.architecture) is an encoder; the Vulkan backend runs causal decoders"
        }
        if c.experts != nil { return "\(c.architecture) routes through experts, which the Vulkan backend does not run yet" }
        if c.hasAttentionSinks { return "\(c.architecture)'s attention sinks are not in the Vulkan backend yet" }
        if !c.normalizesBlockInputs { return "\(c.architecture) normalizes only block outputs; the Vulkan backend needs input norms" }
        if !c.gatedFeedForward { return "\(c.architecture)'s feed-forward block has no gate" }
        if c.valueDimension != c.headDimension { return "value heads of \(c.valueDimension) differ from key heads of \(c.headDimension)" }
        if c.kvDimension % 2 != 0 { return "an odd KV width (\(c.kvDimension)) does not fit the f16 cache's word pairs" }
        return nil
    }

    /// Opens the plan's devices and copies the offloaded layers (and the LM head) to them.
    static func makeOffload(_ plan: OffloadPlan, weights: ModelWeights, config c: ModelConfiguration,
                            storage: GGUFStorage) throws(ModelError) -> ModelOffload? {
        guard !plan.devices.isEmpty else { return nil }
        if let obstacle = offloadObstacle(c) { throw .offload(obstacle) }
        let backends = try plan.devices.map { (index) throws(ModelError) in try DeviceBackend(index: index) }
        let offload = ModelOffload(plan: plan, backends: backends)
        let release = { (start: UnsafeRawPointer, count: Int) in storage.releasePages(start, byteCount: count) }
        for (layer, backend) in offload.layerBackends.sorted(by: { $0.key < $1.key }) {
            try backend.upload(layer: layer, weights.layers[layer], config: c, release: release)
        }
        if let backend = offload.outputBackend, let norm = weights.outputNorm {
            try backend.uploadOutput(norm: norm, matrix: weights.output)
        }
        return offload
    }

    /// Runs the layers of `pass` from first to last, each on the CPU or on its device, moving the
    /// residual stream between host and device memory where consecutive layers change places.
    /// The stream ends in host memory.
    func runLayers(_ pass: ForwardPass) throws {
        let s = pass.scratch, n = pass.batch.count, d = config.embeddingLength
        var resident: DeviceBackend?  // where x is now; nil: the host
        var deviceState: [ObjectIdentifier: DevicePass] = [:]
        for layer in 0..<config.layerCount {
            let target = offload?.layerBackends[layer]
            func state(_ backend: DeviceBackend) throws -> DevicePass {
                if let known = deviceState[ObjectIdentifier(backend)] { return known }
                let made = try DevicePass(pass, backend: backend, config: config)
                deviceState[ObjectIdentifier(backend)] = made
                return made
            }
            if target !== resident {
                if let resident { try state(resident).scratch.x.contents.copyBytesOut(to: s.x, floats: n * d) }
                if let target { try state(target).scratch.x.contents.copyBytesIn(from: s.x, floats: n * d) }
                resident = target
            }
            if let target {
                try deviceLayer(layer, state(target))
            } else {
                attentionBlock(layer, pass)
                if weights.layers[layer].experts != nil {
                    expertFeedForwardBlock(layer, pass)
                } else {
                    feedForwardBlock(layer, pass)
                }
            }
        }
        if let resident, let last = deviceState[ObjectIdentifier(resident)] {
            last.scratch.x.contents.copyBytesOut(to: s.x, floats: n * d)
        }
    }

    /// x += attention(norm(x)) and x += mlp(norm(x)) for one layer on its device: the steps of
    /// `attentionBlock` and `feedForwardBlock` as shaders, rounding where the CPU engine's default
    /// (invariant) numerics round — 8-bit activation blocks before quantized products, f16
    /// queries and accumulator in attention, f16 around GELU — and, on a device that runs its
    /// numerics (`VulkanKernels.multiply`, `usesFloat64`: lavapipe), with the CPU's bits.
    func deviceLayer(_ layer: Int, _ p: DevicePass) throws {
        let c = config, n = p.batch.count, d = c.embeddingLength, qd = c.queryDimension, kvd = c.kvDimension, hd = c.headDimension
        let w = p.backend.layers[layer]!, s = p.scratch, k = p.backend.kernels
        do {
            try k.rmsNorm(input: s.x, weight: w.attentionNorm, output: s.h, rows: n, count: d, eps: c.rmsEpsilon)
            observeDevice("attn_norm-\(layer)", n, s.h, width: d)
            try multiply(k, [(w.query, s.q), (w.key, s.k), (w.value, s.v)], input: s.h, rows: n, scratch: s)
            for (bias, y, width) in [(w.queryBias, s.q, qd), (w.keyBias, s.k, kvd), (w.valueBias, s.v, kvd)] {
                if let bias { try k.addScaled(bias, into: y, count: n * width, period: width, scale: 1) }
            }
            let wholeRow = c.queryKeyNorm == .wholeRow
            if let norm = w.queryNorm {
                try k.rmsNorm(input: s.q, weight: norm, output: s.q, rows: wholeRow ? n : n * c.headCount,
                              count: wholeRow ? qd : hd, eps: c.rmsEpsilon)
            }
            if let norm = w.keyNorm {
                try k.rmsNorm(input: s.k, weight: norm, output: s.k, rows: wholeRow ? n : n * c.headCountKV,
                              count: wholeRow ? kvd : hd, eps: c.rmsEpsilon)
            }
            observeDevice("Vcur-\(layer)", n, s.v, width: kvd)
            if c.ropeLayers[layer] {
                try p.writeAngles(ropeParameters(layer), factors: p.ropeFactors, config: c)
                let layout: VulkanKernels.RoPELayout = c.ropeLayout == .neox ? .neox : .normal
                try k.rope(layout, vectors: s.q, angles: s.angles, rows: n, heads: c.headCount, headDim: hd, dims: c.ropeDimensions)
                try k.rope(layout, vectors: s.k, angles: s.angles, rows: n, heads: c.headCountKV, headDim: hd, dims: c.ropeDimensions)
            }
            observeDevice("Qcur-\(layer)", n, s.q, width: qd)
            observeDevice("Kcur-\(layer)", n, s.k, width: kvd)
            // Every row's K and V first, so each row then sees the earlier rows of its own batch.
            for run in p.runs {
                let (key, value) = p.cacheBuffers(run, layer: layer)
                try k.storeHalfRows(source: s.k, sourceRow: run.firstRow, destination: key, destinationRow: run.firstCell,
                                    rows: run.rows, width: kvd)
                try k.storeHalfRows(source: s.v, sourceRow: run.firstRow, destination: value, destinationRow: run.firstCell,
                                    rows: run.rows, width: kvd)
            }
            try attend(layer, p)
            observeDevice("kqv_out-\(layer)", n, s.attn, width: qd)
            try multiply(k, [(w.output, s.o)], input: s.attn, rows: n, scratch: s)
            if let bias = w.outputBias { try k.addScaled(bias, into: s.o, count: n * d, period: d, scale: 1) }
            try addResidual(k, s.o, to: s.x, rows: n, postNorm: w.postAttentionNorm)

            try k.rmsNorm(input: s.x, weight: w.ffnNorm, output: s.h, rows: n, count: d, eps: c.rmsEpsilon)
            let ff = c.feedForwardLength
            try multiply(k, [(w.gate, s.gate), (w.up, s.up)], input: s.h, rows: n, scratch: s)
            if let bias = w.upBias { try k.addScaled(bias, into: s.up, count: n * ff, period: ff, scale: 1) }
            if let bias = w.gateBias { try k.addScaled(bias, into: s.gate, count: n * ff, period: ff, scale: 1) }
            try k.gatedActivation(c.activation == .gelu ? .gelu : .silu, gate: s.gate, up: s.up, output: s.gate, count: n * ff,
                                  geluTable: p.backend.geluTable)
            observeDevice("ffn_geglu-\(layer)", n, s.gate, width: ff)
            try multiply(k, [(w.down, s.o)], input: s.gate, rows: n, scratch: s)
            if let bias = w.downBias { try k.addScaled(bias, into: s.o, count: n * d, period: d, scale: 1) }
            observeDevice("ffn_out-\(layer)", n, s.o, width: d)
            try addResidual(k, s.o, to: s.x, rows: n, postNorm: w.postFFNNorm)
            observeDevice("l_out-\(layer)", n, s.x, width: d)
        } catch {
            guard let failure = error as? VulkanError else { throw error }
            throw ModelError.offload("layer \(layer) on \(p.backend.device.info.name): \(failure.message)")
        }
    }

    /// `observe` on a device buffer, read through its host mapping (every dispatch has finished).
    private func observeDevice(_ name: @autoclosure () -> String, _ rows: Int, _ buffer: VulkanBuffer, width: Int) {
        guard tensorObserver != nil else { return }
        observe(name(), rows, buffer.contents.assumingMemoryBound(to: Float.self), width: width)
    }

    /// y = W·x for each (W, y) of `products`, which share the input `x`: x is rounded once for
    /// consecutive matrices with the same activation format (Q, K and V; gate and up), as the CPU
    /// quantizes a shared input once.
    private func multiply(_ k: VulkanKernels, _ products: [(DeviceMatrix, VulkanBuffer)], input x: VulkanBuffer,
                          rows n: Int, scratch: DeviceScratch) throws {
        var last: (format: GGMLType?, columns: Int, input: VulkanBuffer)?
        for (m, y) in products {
            let format = ActivationQuantization.format(for: m.type)
            let input: VulkanBuffer
            if let last, last.format == format, last.columns == m.columns {
                input = last.input
            } else {
                input = try Self.roundedInput(k, m.type, x, columns: m.columns, rows: n, scratch: scratch)
                last = (format, m.columns, input)
            }
            try k.multiply(m.type, weights: m.buffer, input: input, output: y, rows: m.rows, columns: m.columns, batch: n)
        }
    }

    /// `x` as the CPU's product with weights of `type` takes it: quantized into the 8-bit
    /// activation blocks the CPU quantizes to (into `scratch.rounded`), or `x` itself for float
    /// weights. The device's integer dot per block is then the CPU's, and its float steps too
    /// where the kernels follow the CPU's order (`VulkanKernels.multiply`).
    static func roundedInput(_ k: VulkanKernels, _ type: GGMLType, _ x: VulkanBuffer, columns: Int, rows n: Int,
                             scratch: DeviceScratch) throws(VulkanError) -> VulkanBuffer {
        guard let format = ActivationQuantization.format(for: type) else { return x }
        guard let blocks = VulkanKernels.activationBlocks(for: type) else {
            throw VulkanError(kind: .invalidArgument, message:
                "\(type.name) weights are dotted with \(format.name) activations, which the Vulkan backend does not round to")
        }
        try k.roundActivations(blocks, input: x, output: scratch.rounded, count: n * columns)
        return scratch.rounded
    }

    /// x += residualScale·postNorm(o), as `addResidual` on the CPU.
    private func addResidual(_ k: VulkanKernels, _ o: VulkanBuffer, to x: VulkanBuffer, rows n: Int,
                             postNorm: VulkanBuffer?) throws {
        let d = config.embeddingLength
        if let postNorm { try k.rmsNorm(input: o, weight: postNorm, output: o, rows: n, count: d, eps: config.rmsEpsilon) }
        try k.addScaled(o, into: x, count: n * d, period: n * d, scale: config.residualScale)
    }

    /// Attention of every run of rows over its sequence's cells on the device. Models that scale
    /// the queries (Gemma, Phi-3) have them scaled before the f16 rounding, as on the CPU.
    private func attend(_ layer: Int, _ p: DevicePass) throws {
        let c = config, s = p.scratch, k = p.backend.kernels
        let window = c.slidingLayers[layer] ? c.slidingWindow : nil
        for run in p.runs {
            let (keys, values) = p.cacheBuffers(run, layer: layer)
            let cells = run.sequence.count
            // Scores take rows × heads × cells floats: a long run is taken in parts that fit the budget.
            let budget = min(64 << 20, p.backend.device.info.maxStorageBufferBytes)
            let perRow = c.headCount * cells * 4
            let rowsPerPart = max(1, min(run.rows, budget / max(1, perRow)))
            let scores = try p.scores(bytes: rowsPerPart * perRow)
            var first = run.firstRow
            while first < run.firstRow + run.rows {
                let count = min(rowsPerPart, run.firstRow + run.rows - first)
                try k.attendRows(queries: s.q, keys: keys, values: values, positions: run.positions, queryPositions: s.queryPositions,
                                 scores: scores, output: s.attn, firstRow: first, rows: count, heads: c.headCount,
                                 kvHeads: c.headCountKV, headDim: c.headDimension, cells: cells, stride: c.kvDimension,
                                 window: window, scale: c.scalesQueries ? 1 : c.attentionScale,
                                 softcap: c.attentionSoftcap ?? 0, queryScale: c.scalesQueries ? c.attentionScale : 1)
                first += count
            }
        }
    }

    /// Logits of the rows `wanted` on the output's device: their final states are copied there,
    /// normed and multiplied by each part of the LM head, and the parts' columns interleaved
    /// into `logits` (wanted.count × vocabularySize).
    func deviceLogits(_ backend: DeviceBackend, hidden x: UnsafeMutablePointer<Float>, wanted: [Int],
                      into logits: UnsafeMutablePointer<Float>) throws {
        guard let (norm, head) = backend.output else { return }
        let d = config.embeddingLength, vocab = config.vocabularySize, k = backend.kernels
        let largestPart = head.parts.map(\.rows).max() ?? 1
        let budget = min(64 << 20, backend.device.info.maxStorageBufferBytes)
        let chunk = max(1, min(wanted.count, budget / (largestPart * 4)))
        let s = try backend.scratch(rows: chunk, config: config)
        let out = try s.logitsBuffer(bytes: chunk * largestPart * 4, backend: backend)
        do {
            var start = 0
            while start < wanted.count {
                let rows = Array(wanted[start..<min(wanted.count, start + chunk)])
                let xs = s.x.contents.assumingMemoryBound(to: Float.self)
                for (j, i) in rows.enumerated() { (xs + j * d).update(from: x + i * d, count: d) }
                try k.rmsNorm(input: s.x, weight: norm, output: s.h, rows: rows.count, count: d, eps: config.rmsEpsilon)
                let input = try Self.roundedInput(k, head.type, s.h, columns: d, rows: rows.count, scratch: s)
                for part in head.parts {
                    try k.multiply(head.type, weights: part.buffer, input: input, output: out, rows: part.rows, columns: d,
                                   batch: rows.count)
                    let ys = out.contents.assumingMemoryBound(to: Float.self)
                    for j in 0..<rows.count {
                        (logits + (start + j) * vocab + part.firstRow).update(from: ys + j * part.rows, count: part.rows)
                    }
                }
                start += rows.count
            }
        } catch {
            throw ModelError.offload("the LM head on \(backend.device.info.name): \(error.message)")
        }
    }
}

/// What one device needs for the layers it runs in one forward pass: the batch's runs of rows
/// (consecutive cells of one sequence) with their cell positions on the device, the rows'
/// positions, and RoPE angles written per layer.
struct DevicePass {
    /// Rows `firstRow ..< firstRow + rows` of the batch go to cells `firstCell ...` of `sequence`.
    struct Run {
        let sequence: SequenceCells
        let firstRow: Int, rows: Int, firstCell: Int
        /// The sequence's cell positions (count of them) on the device.
        let positions: VulkanBuffer
    }

    let backend: DeviceBackend
    let scratch: DeviceScratch
    let runs: [Run]
    let batch: Batch
    let ropeFactors: [Float]?

    init(_ pass: ForwardPass, backend: DeviceBackend, config c: ModelConfiguration) throws {
        self.backend = backend
        batch = pass.batch
        let rows = pass.batch.count
        ropeFactors = pass.ropeFactors
        let s = try backend.scratch(rows: rows, config: c)
        scratch = s
        let positions = s.queryPositions.contents.assumingMemoryBound(to: Int32.self)
        for (i, row) in pass.batch.rows.enumerated() { positions[i] = row.position }
        var runs: [Run] = []
        var sequenceBuffers: [ObjectIdentifier: VulkanBuffer] = [:]
        var i = 0
        while i < rows {
            let (seq, cell) = pass.cells[i]
            var end = i + 1
            while end < rows, pass.cells[end].0 === seq, pass.cells[end].1 == cell + (end - i) { end += 1 }
            let id = ObjectIdentifier(seq)
            if sequenceBuffers[id] == nil {
                let buffer = try s.cellPositions(sequenceBuffers.count, capacity: seq.capacity, backend: backend)
                buffer.contents.copyMemory(from: seq.positions, byteCount: seq.count * 4)
                sequenceBuffers[id] = buffer
            }
            runs.append(Run(sequence: seq, firstRow: i, rows: end - i, firstCell: cell, positions: sequenceBuffers[id]!))
            i = end
        }
        self.runs = runs
    }

    /// The device buffers of `run`'s sequence's keys and values in `layer`.
    func cacheBuffers(_ run: Run, layer: Int) -> (VulkanBuffer, VulkanBuffer) {
        let owners = run.sequence.deviceOwners[layer]!
        return (owners.key as! VulkanBuffer, owners.value as! VulkanBuffer)
    }

    func scores(bytes: Int) throws(ModelError) -> VulkanBuffer {
        if let scores = scratch.scores, scores.byteCount >= bytes { return scores }
        let made = try backend.makeBuffer(bytes: bytes, "the attention scores")
        scratch.scores = made
        return made
    }

    /// Every row's RoPE cos/sin pairs for one layer's parameters into `scratch.angles`.
    func writeAngles(_ rope: (base: Float, scale: Float, attentionFactor: Float, yarn: RoPE.YaRN?), factors: [Float]?,
                     config c: ModelConfiguration) throws {
        let angles = scratch.angles.contents.assumingMemoryBound(to: Float.self)
        func write(_ f: UnsafePointer<Float>?) {
            for (i, row) in batch.rows.enumerated() {
                RoPE.angles(position: Float(row.position), dims: c.ropeDimensions, base: rope.base, scale: rope.scale,
                            factors: f, attentionFactor: rope.attentionFactor, yarn: rope.yarn, into: angles + i * c.ropeDimensions)
            }
        }
        if let factors { factors.withUnsafeBufferPointer { write($0.baseAddress) } } else { write(nil) }
    }
}

extension DeviceScratch {
    /// The `index`-th per-sequence positions buffer of a batch, made on first use.
    func cellPositions(_ index: Int, capacity: Int, backend: DeviceBackend) throws(ModelError) -> VulkanBuffer {
        while cellPositions.count <= index {
            cellPositions.append(try backend.makeBuffer(bytes: capacity * 4, "the cache positions"))
        }
        if cellPositions[index].byteCount < capacity * 4 {
            cellPositions[index] = try backend.makeBuffer(bytes: capacity * 4, "the cache positions")
        }
        return cellPositions[index]
    }

    func logitsBuffer(bytes: Int, backend: DeviceBackend) throws(ModelError) -> VulkanBuffer {
        if let logits, logits.byteCount >= bytes { return logits }
        let made = try backend.makeBuffer(bytes: bytes, "the logits")
        logits = made
        return made
    }
}

private extension UnsafeMutableRawPointer {
    func copyBytesOut(to x: UnsafeMutablePointer<Float>, floats: Int) {
        x.update(from: assumingMemoryBound(to: Float.self), count: floats)
    }

    func copyBytesIn(from x: UnsafeMutablePointer<Float>, floats: Int) {
        copyMemory(from: x, byteCount: floats * 4)
    }
}
