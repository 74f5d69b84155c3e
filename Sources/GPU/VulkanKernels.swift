import GGUF

/// The compute kernels on one Vulkan device: matrix products for F32, F16, Q4_0, Q8_0, Q5_0,
/// Q4_K, Q5_K and Q6_K weights, rounding activations through the 8-bit blocks the CPU dots
/// quantized weights with, RMS norm, GEGLU/SwiGLU, RoPE, scaled adds, writing rows into an f16
/// cache, attention of a batch's rows over that cache. Each checks
/// its shapes against the buffers it is given, picks its dispatch grid and runs its embedded
/// shader. Pipelines are built once here. The shaders' math is in their sources
/// (Sources/CVulkan/shaders); results are compared with the CPU kernels in Tests/GPUTests.
public final class VulkanKernels: @unchecked Sendable {
    public let device: VulkanDevice
    private let pipelines: [VulkanShader: VulkanPipeline]
    /// The matrix products' 8-rows-per-invocation builds (one-invocation-per-row layout only).
    private let batchedPipelines: [VulkanShader: VulkanPipeline]
    /// How the matrix products spread a row over invocations.
    public let matvecLayout: MatvecLayout

    /// Matrix products with 64 invocations per row, their sums added in shared memory (what GPUs
    /// run fast), or with one invocation per row and no barriers (what a Vulkan device on the
    /// CPU, such as lavapipe, runs faster: with every layer of gemma-3-270m offloaded to llvmpipe
    /// on 2 cores, decoding ran at 0.18 tok/s one way and 0.44 tok/s the other).
    public enum MatvecLayout: Sendable {
        case workgroupPerRow, invocationPerRow
    }

    /// Activation rows one invocation takes in the one-invocation-per-row layout for batches of
    /// at least this many (the shaders' NB in their `_rowwise8` build, scripts/build-shaders):
    /// each weight is decoded once for them. Each row's sum keeps its order, so a row's result is
    /// the same bits in either build.
    public static let rowwiseActivationRows = 8

    /// Whether the RMS norm, RoPE, attention and (one invocation per row) the quantized products
    /// run their `_f64` builds: the CPU's f64 sums in the norm, glibc's expf in attention, divisions
    /// and fused multiply-adds rounded once, as the CPU rounds them.
    public let usesFloat64: Bool

    /// `matvecLayout` nil: by the device's kind (one invocation per row on CPU devices).
    /// `float64` nil: the `_f64` builds where the device has 64-bit floats (false: never; true on
    /// a device without them fails to build the pipelines).
    public init(device: VulkanDevice, matvecLayout: MatvecLayout? = nil, float64: Bool? = nil) throws(VulkanError) {
        self.device = device
        let layout = matvecLayout ?? (device.info.kind == .cpu ? .invocationPerRow : .workgroupPerRow)
        self.matvecLayout = layout
        var pipelines: [VulkanShader: VulkanPipeline] = [:], batched: [VulkanShader: VulkanPipeline] = [:]
        let float64 = float64 ?? device.info.supportsFloat64
        usesFloat64 = float64
        for shader in VulkanShader.allCases {
            if layout == .invocationPerRow && shader.has(.rowwise) {
                let wide = float64 && shader.has(.rowwiseFloat64)
                pipelines[shader] = try device.makePipeline(shader, build: wide ? .rowwiseFloat64 : .rowwise)
                batched[shader] = try device.makePipeline(shader, build: wide ? .rowwise8Float64 : .rowwise8)
            } else {
                pipelines[shader] = try device.makePipeline(shader, build: float64 && shader.has(.float64) ? .float64 : .standard)
            }
        }
        self.pipelines = pipelines
        batchedPipelines = batched
    }

    /// The shader for y = W·x with weights of `type`, or nil when there is none yet.
    public static func matvecShader(for type: GGMLType) -> VulkanShader? {
        switch type {
        case .f32: .matvecF32
        case .f16: .matvecF16
        case .q4_0: .matvecQ4_0
        case .q8_0: .matvecQ8_0
        case .q5_0: .matvecQ5_0
        case .q4_K: .matvecQ4_K
        case .q5_K: .matvecQ5_K
        case .q6_K: .matvecQ6_K
        default: nil
        }
    }

    /// Bytes of a rows × columns matrix of `type` in GGUF's block layout, rounded up to whole
    /// 32-bit words (the shaders read words; f16 pairs and blocks of 18, 22, 34 or 210 bytes end mid-word): the
    /// weight buffer for `matvec` must be this large. Nil when columns is not a whole number of
    /// blocks or the size overflows.
    public static func weightBufferBytes(_ type: GGMLType, rows: Int, columns: Int) -> Int? {
        guard rows >= 0, columns >= 0, columns % type.blockSize == 0 else { return nil }
        let (bytes, overflow) = rows.multipliedReportingOverflow(by: columns / type.blockSize * type.typeSize)
        guard !overflow, bytes <= Int.max - 3 else { return nil }
        return (bytes + 3) / 4 * 4
    }

    /// y[n][r] = Σ_k W[r][k]·x[n][k] for n < batch: `weights` holds rows × columns of `type`
    /// (F32, F16, Q4_0, Q8_0, Q5_0, Q4_K, Q5_K or Q6_K, rows contiguous in GGUF's layout, `weightBufferBytes`
    /// large), `output` receives batch × rows f32. `input` is batch × columns f32 for F32 and F16
    /// weights; for quantized weights it is those activations as `roundActivations` wrote them into
    /// the blocks `activationBlocks(for: type)`, and the shader takes the CPU's integer dot per block
    /// — in the one-invocation-per-row layout with the CPU's float steps in its order, so with
    /// `usesFloat64` each result is the CPU engine's bits (`Matmul` in invariant numerics).
    public func multiply(_ type: GGMLType, weights: VulkanBuffer, input: VulkanBuffer, output: VulkanBuffer,
                         rows: Int, columns: Int, batch: Int = 1) throws(VulkanError) {
        guard let shader = Self.matvecShader(for: type) else {
            throw VulkanError(kind: .invalidArgument, message: "no Vulkan matrix × vector shader for \(type) weights yet")
        }
        try checkShape(rows: rows, columns: columns)
        // (8 rows per invocation only for batches that fill them: a decode step reads one)
        let batched = matvecLayout == .invocationPerRow && batch >= Self.rowwiseActivationRows
        let perGroup = batched ? Self.rowwiseActivationRows : 1
        let limit = min(device.info.maxWorkGroupCount.z * perGroup, Int(UInt32.max))
        guard batch >= 1, batch <= limit else {
            throw VulkanError(kind: .invalidArgument, message: "a batch of \(batch) rows is outside 1...\(limit) (the device's grid)")
        }
        guard let bytes = Self.weightBufferBytes(type, rows: rows, columns: columns) else {
            throw VulkanError(kind: .invalidArgument,
                              message: "\(type) rows of \(columns) columns: not a multiple of \(type.blockSize)")
        }
        try require(weights, bytes: bytes, "\(shader.rawValue) weights")
        // batch ≤ 2³² and columns, rows ≤ 2³¹: these products fit an Int.
        let inputBytes = Self.activationBlocks(for: type)?.bytes(count: batch * columns) ?? batch * columns * 4
        try require(input, bytes: inputBytes, "\(shader.rawValue) input")
        try require(output, bytes: batch * rows * 4, "\(shader.rawValue) output")
        var groups = try grid(rows: matvecLayout == .invocationPerRow ? (rows + 63) / 64 : rows)
        groups.z = (batch + perGroup - 1) / perGroup
        try device.run((batched ? batchedPipelines : pipelines)[shader]!, buffers: [weights, input, output],
                       pushConstants: [UInt32(rows), UInt32(columns), UInt32(batch)], groups: groups)
    }

    /// y[r][i] = x[r][i] / sqrt(mean(x[r]²) + eps) · w[i] for `rows` rows of `count` f32.
    public func rmsNorm(input: VulkanBuffer, weight: VulkanBuffer, output: VulkanBuffer,
                        rows: Int, count: Int, eps: Float) throws(VulkanError) {
        try checkShape(rows: rows, columns: count)
        guard eps.isFinite, eps >= 0 else {
            throw VulkanError(kind: .invalidArgument, message: "rms_norm eps \(eps) is not a finite non-negative number")
        }
        let (bytes, overflow) = rows.multipliedReportingOverflow(by: count * 4)
        guard !overflow else {
            throw VulkanError(kind: .invalidArgument, message: "rms_norm shape \(rows) × \(count) is too large")
        }
        try require(input, bytes: bytes, "rms_norm input")
        try require(weight, bytes: count * 4, "rms_norm weight")
        try require(output, bytes: bytes, "rms_norm output")
        try device.run(pipelines[.rmsNorm]!, buffers: [input, weight, output],
                       pushConstants: [UInt32(rows), UInt32(count), eps.bitPattern], groups: try grid(rows: rows))
    }

    /// The gating non-linearity of `gatedActivation`.
    public enum GateActivation: UInt32, Sendable {
        case gelu = 0, silu = 1
    }

    /// out[i] = act(gate[i])·up[i] for `count` f32 elements (GEGLU with `.gelu`, SwiGLU with
    /// `.silu`); gelu as the CPU evaluates it, from `geluTable` (the CPU's 65536 f16 results by
    /// the f16 bits of the input, VectorMath.geluF16Bits: 128 KiB), which `.gelu` requires.
    public func gatedActivation(_ activation: GateActivation, gate: VulkanBuffer, up: VulkanBuffer,
                                output: VulkanBuffer, count: Int, geluTable: VulkanBuffer? = nil) throws(VulkanError) {
        if activation == .gelu {
            guard let geluTable else {
                throw VulkanError(kind: .invalidArgument, message: "gated_activation with gelu needs the gelu table")
            }
            try require(geluTable, bytes: 65536 * 2, "gated_activation gelu table")
        }
        guard count >= 1, count <= Int(UInt32.max) - 255 else {
            throw VulkanError(kind: .invalidArgument, message: "gated activation of \(count) elements is outside 1...\(Int(UInt32.max) - 255)")
        }
        try require(gate, bytes: count * 4, "gated_activation gate")
        try require(up, bytes: count * 4, "gated_activation up")
        try require(output, bytes: count * 4, "gated_activation output")
        try device.run(pipelines[.gatedActivation]!, buffers: [gate, up, output, geluTable ?? gate],
                       pushConstants: [UInt32(count), activation.rawValue], groups: try grid(rows: (count + 255) / 256))
    }

    /// Which elements RoPE pairs: (2i, 2i+1) (`normal`) or (i, i + dims/2) (`neox`).
    public enum RoPELayout: UInt32, Sendable {
        case normal = 0, neox = 1
    }

    /// Rotary position embedding in place on `vectors` (rows × heads × headDim f32), rotating
    /// the first `dims` elements of every head by row r's cos/sin pairs in `angles` (rows × dims
    /// f32, each row as RoPE.angles writes it for that row's position).
    public func rope(_ layout: RoPELayout, vectors: VulkanBuffer, angles: VulkanBuffer, rows: Int, heads: Int,
                     headDim: Int, dims: Int) throws(VulkanError) {
        try checkShape(rows: rows, columns: heads)
        guard headDim >= 2, headDim <= 1 << 16, dims >= 2, dims <= headDim, dims % 2 == 0 else {
            throw VulkanError(kind: .invalidArgument,
                              message: "RoPE of \(dims) dimensions in heads of \(headDim): dims must be even, 2...headDim ≤ 65536")
        }
        let (vectorCount, o1) = rows.multipliedReportingOverflow(by: heads)
        let (elements, o2) = vectorCount.multipliedReportingOverflow(by: headDim)
        let (anglesCount, o3) = rows.multipliedReportingOverflow(by: dims)
        let pairs = vectorCount.multipliedReportingOverflow(by: dims / 2)
        guard !o1, !o2, !o3, !pairs.overflow, pairs.partialValue <= Int(UInt32.max) - 255 else {
            throw VulkanError(kind: .invalidArgument, message: "RoPE over \(rows) × \(heads) heads is too large")
        }
        try require(vectors, bytes: elements * 4, "rope vectors")
        try require(angles, bytes: anglesCount * 4, "rope angles")
        try device.run(pipelines[.rope]!, buffers: [vectors, angles],
                       pushConstants: [UInt32(rows), UInt32(heads), UInt32(headDim), UInt32(dims), layout.rawValue],
                       groups: try grid(rows: (pairs.partialValue + 255) / 256))
    }

    /// Scaled dot-product attention of `rows` query rows of one sequence, batch rows firstRow…
    /// firstRow + rows − 1, in the numerics of the CPU's one-row attention over an f16 cache
    /// (attention_rows.comp says how). Row n's queries are heads × headDim f32 at float
    /// n·heads·headDim of `queries` (multiplied by `queryScale` before they are rounded to f16),
    /// its position is `queryPositions[n]` (Int32), and its output goes to the same floats of
    /// `output`. Query head h reads KV head h / (heads / kvHeads): element i of cell c is half
    /// c·stride + kvHead·headDim + i of `keys` and `values` (f16; `positions`: cells Int32). A
    /// cell is visible from row n when its position ≤ queryPositions[n] and, with a `window`,
    /// lies less than `window` before it; a row that sees no cell gets zeros. Scores are
    /// (q·k)·scale, soft-capped when `softcap` ≠ 0. `scores` is scratch (rows × heads × cells f32).
    public func attendRows(queries: VulkanBuffer, keys: VulkanBuffer, values: VulkanBuffer, positions: VulkanBuffer,
                           queryPositions: VulkanBuffer, scores: VulkanBuffer, output: VulkanBuffer,
                           firstRow: Int, rows: Int, heads: Int, kvHeads: Int, headDim: Int, cells: Int, stride: Int,
                           window: Int?, scale: Float, softcap: Float = 0, queryScale: Float = 1) throws(VulkanError) {
        let limits = device.info.maxWorkGroupCount
        guard heads >= 1, heads <= limits.x, kvHeads >= 1, kvHeads <= heads, headDim >= 1, headDim <= 1 << 16,
              cells >= 1, cells <= Int(Int32.max), stride >= 1, stride <= 1 << 20 else {
            throw VulkanError(kind: .invalidArgument, message:
                "attention over \(heads) heads (\(kvHeads) KV heads) of \(headDim) and \(cells) cells \(stride) apart is out of range")
        }
        guard heads % kvHeads == 0 else {
            throw VulkanError(kind: .invalidArgument, message:
                "attention over \(heads) query heads: not a multiple of the \(kvHeads) KV heads")
        }
        // A cell's row holds every KV head (kvHeads ≤ heads < 2³² and headDim ≤ 2¹⁶: this fits an Int).
        guard stride >= kvHeads * headDim else {
            throw VulkanError(kind: .invalidArgument, message:
                "attention cells \(stride) halves apart cannot hold \(kvHeads) KV heads of \(headDim)")
        }
        guard rows >= 1, rows <= limits.y, firstRow >= 0 else {
            throw VulkanError(kind: .invalidArgument, message:
                "attention over \(rows) rows from row \(firstRow): rows must be in 1...\(limits.y) (the device's grid), the first ≥ 0")
        }
        if let window, window < 1 || window > Int(UInt32.max) {
            throw VulkanError(kind: .invalidArgument, message: "attention window \(window) is outside 1...\(UInt32.max)")
        }
        guard scale.isFinite, softcap.isFinite, softcap >= 0, queryScale.isFinite else {
            throw VulkanError(kind: .invalidArgument, message:
                "attention scale \(scale), query scale \(queryScale) or soft cap \(softcap) is not usable")
        }
        // Batch rows, query floats, scratch floats: every product checked, then each buffer's
        // size (≤ maxStorageBufferRange < 2³² bytes) bounds what the shader's uints index.
        let (batchRows, o1) = firstRow.addingReportingOverflow(rows)
        let (batchHeads, o2) = batchRows.multipliedReportingOverflow(by: heads)
        let (queryFloats, o3) = batchHeads.multipliedReportingOverflow(by: headDim)
        let (queryBytes, o4) = queryFloats.multipliedReportingOverflow(by: 4)
        let (rowHeads, o5) = rows.multipliedReportingOverflow(by: heads)
        let (scoreFloats, o6) = rowHeads.multipliedReportingOverflow(by: cells)
        let (scoreBytes, o7) = scoreFloats.multipliedReportingOverflow(by: 4)
        guard !o1, !o2, !o3, !o4, !o5, !o6, !o7 else {
            throw VulkanError(kind: .invalidArgument, message:
                "attention over rows \(firstRow)..<\(firstRow &+ rows) × \(heads) heads of \(headDim) and \(cells) cells is too large")
        }
        // cells ≤ 2³¹ and stride ≤ 2²⁰: these products fit an Int.
        let rowHalves = (cells - 1) * stride + kvHeads * headDim
        try require(queries, bytes: queryBytes, "attention queries")
        try require(keys, bytes: (rowHalves * 2 + 3) / 4 * 4, "attention keys")
        try require(values, bytes: (rowHalves * 2 + 3) / 4 * 4, "attention values")
        try require(positions, bytes: cells * 4, "attention positions")
        try require(queryPositions, bytes: batchRows * 4, "attention query positions")
        try require(scores, bytes: scoreBytes, "attention scores")
        try require(output, bytes: queryBytes, "attention output")
        let push: [UInt32] = [UInt32(heads), UInt32(kvHeads), UInt32(headDim), UInt32(cells), UInt32(stride),
                              UInt32(firstRow), UInt32(window ?? 0), scale.bitPattern, softcap.bitPattern,
                              queryScale.bitPattern]
        try device.run(pipelines[.attentionRows]!,
                       buffers: [queries, keys, values, positions, queryPositions, scores, output],
                       pushConstants: push, groups: (heads, rows, 1))
    }

    /// Writes `rows` rows of `width` f32 from `source`, starting at its row `sourceRow`, into
    /// `destination` as f16, starting at its row `destinationRow` (rows `width` halves apart, two
    /// per 32-bit word, the lower-addressed in the low half), rounding to nearest, ties to even:
    /// new K or V rows into an f16 KV cache on the device. Halves outside those rows are left
    /// as they were. `width` is even, so no row ends mid-word.
    public func storeHalfRows(source: VulkanBuffer, sourceRow: Int, destination: VulkanBuffer, destinationRow: Int,
                              rows: Int, width: Int) throws(VulkanError) {
        guard width % 2 == 0 else {
            throw VulkanError(kind: .invalidArgument, message:
                "f16 rows of \(width) halves: the width must be even (two halves per 32-bit word)")
        }
        guard rows >= 1, width >= 2, sourceRow >= 0, destinationRow >= 0 else {
            throw VulkanError(kind: .invalidArgument, message:
                "storing \(rows) f16 rows of \(width) from row \(sourceRow) to row \(destinationRow): rows must be ≥ 1, width ≥ 2, the starting rows ≥ 0")
        }
        let (sourceEnd, o1) = sourceRow.addingReportingOverflow(rows)
        let (sourceFloats, o2) = sourceEnd.multipliedReportingOverflow(by: width)
        let (sourceBytes, o3) = sourceFloats.multipliedReportingOverflow(by: 4)
        let (destinationEnd, o4) = destinationRow.addingReportingOverflow(rows)
        let (destinationHalves, o5) = destinationEnd.multipliedReportingOverflow(by: width)
        let (destinationBytes, o6) = destinationHalves.multipliedReportingOverflow(by: 2)
        guard !o1, !o2, !o3, !o4, !o5, !o6 else {
            throw VulkanError(kind: .invalidArgument, message:
                "storing \(rows) f16 rows of \(width) from row \(sourceRow) to row \(destinationRow) is too large")
        }
        try require(source, bytes: sourceBytes, "store_half_rows source")
        try require(destination, bytes: destinationBytes, "store_half_rows destination")
        // Both ends are within buffers of < 2³² bytes, so the starts and the pair count fit a UInt32.
        let pairs = rows * width / 2
        try device.run(pipelines[.storeHalfRows]!, buffers: [source, destination],
                       pushConstants: [UInt32(sourceRow * width), UInt32(destinationRow * width / 2), UInt32(pairs)],
                       groups: try grid(rows: (pairs + 255) / 256))
    }

    /// y[i] = y[i] + scale·a[i mod period] for i < count, in f32 with the product and the sum
    /// rounded separately (no fma), as Swift's `y + scale * a` on Floats: residual adds
    /// (period = count, scale 1) and per-row bias adds (period = the row width).
    public func addScaled(_ a: VulkanBuffer, into y: VulkanBuffer, count: Int, period: Int, scale: Float) throws(VulkanError) {
        guard count >= 1, count <= Int(UInt32.max) - 255 else {
            throw VulkanError(kind: .invalidArgument, message: "add of \(count) elements is outside 1...\(Int(UInt32.max) - 255)")
        }
        guard period >= 1, period <= count else {
            throw VulkanError(kind: .invalidArgument, message: "add with period \(period) is outside 1...\(count) (the count)")
        }
        guard scale.isFinite else {
            throw VulkanError(kind: .invalidArgument, message: "add scale \(scale) is not finite")
        }
        try require(a, bytes: period * 4, "add_scaled addend")
        try require(y, bytes: count * 4, "add_scaled accumulator")
        try device.run(pipelines[.addScaled]!, buffers: [a, y],
                       pushConstants: [UInt32(count), UInt32(period), scale.bitPattern],
                       groups: try grid(rows: (count + 255) / 256))
    }

    /// The 8-bit activation blocks of `roundActivations`: Q8_0 (32 per block, f16 scale) or
    /// Q8_K (256 per block, f32 scale), as the CPU quantizes activations for Q4_0/Q5_0/Q8_0 and
    /// for the k-quants.
    /// In the device's layout (matvec_quantized.glsl): a block is its step d as f32 bits and its
    /// quants four to a word, and a Q8_K block then the sums of each 16 quants as 32-bit words.
    public enum ActivationBlocks: UInt32, Sendable {
        case q8_0 = 0, q8_K = 1

        public var blockSize: Int { self == .q8_0 ? 32 : 256 }

        /// 32-bit words of one block: 1 + 8, or 1 + 64 + 16.
        public var wordsPerBlock: Int { self == .q8_0 ? 9 : 81 }

        /// Bytes of `count` activations in these blocks (a whole number of blocks): less than
        /// their f32 bytes.
        public func bytes(count: Int) -> Int { count / blockSize * wordsPerBlock * 4 }
    }

    /// The blocks the quantized products with weights of `type` take as input, nil for float weights.
    public static func activationBlocks(for type: GGMLType) -> ActivationBlocks? {
        switch type {
        case .q4_0, .q5_0, .q8_0: .q8_0
        case .q4_K, .q5_K, .q6_K: .q8_K
        default: nil
        }
    }

    /// output = the `count` f32 of input (a whole number of blocks) quantized to `blocks` as the
    /// CPU quantizes activations (`ActivationQuantization`: the same steps and quants, bit for
    /// bit), in the device's layout (`ActivationBlocks`), for the quantized products.
    public func roundActivations(_ blocks: ActivationBlocks, input: VulkanBuffer, output: VulkanBuffer,
                                 count: Int) throws(VulkanError) {
        guard count >= 1, count <= Int(UInt32.max), count % blocks.blockSize == 0 else {
            throw VulkanError(kind: .invalidArgument, message:
                "rounding \(count) activations to \(blocks) blocks: the count must be a positive multiple of \(blocks.blockSize) below 2³²")
        }
        try require(input, bytes: count * 4, "round_activations input")
        try require(output, bytes: blocks.bytes(count: count), "round_activations output")
        let n = count / blocks.blockSize
        try device.run(pipelines[.roundActivations]!, buffers: [input, output],
                       pushConstants: [UInt32(n), blocks.rawValue], groups: try grid(rows: (n + 63) / 64))
    }

    // MARK: Checks and grid

    /// Both dimensions in 1...2³¹, so every index the shaders compute fits their 32-bit uints
    /// once the buffer sizes (at most maxStorageBufferRange bytes) are checked.
    private func checkShape(rows: Int, columns: Int) throws(VulkanError) {
        let limit = Int(Int32.max)
        guard rows >= 1, rows <= limit, columns >= 1, columns <= limit else {
            throw VulkanError(kind: .invalidArgument, message: "shape \(rows) × \(columns) is outside 1...\(limit) per dimension")
        }
    }

    private func require(_ buffer: VulkanBuffer, bytes: Int, _ what: String) throws(VulkanError) {
        guard buffer.byteCount >= bytes else {
            throw VulkanError(kind: .invalidArgument, message: "\(what) needs \(bytes) bytes, the buffer has \(buffer.byteCount)")
        }
    }

    /// One workgroup per row (or per 256 elements); rows beyond the device's first-dimension limit spill into the
    /// second (the shaders compute row = group.y · groups.x + group.x and skip rows ≥ rows).
    func grid(rows: Int) throws(VulkanError) -> (x: Int, y: Int, z: Int) {
        let limits = device.info.maxWorkGroupCount
        let x = min(rows, limits.x)
        let y = (rows + x - 1) / x
        guard y <= limits.y else {
            throw VulkanError(kind: .invalidArgument, message: "\(rows) rows exceed the device's workgroup grid")
        }
        return (x, y, 1)
    }
}
