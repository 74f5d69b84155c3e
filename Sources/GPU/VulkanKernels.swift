import GGUF

/// The compute kernels on one Vulkan device: matrix products for F32, F16, Q4_0, Q8_0, Q5_0,
/// Q4_K and Q6_K weights, RMS norm, GEGLU/SwiGLU, RoPE, attention over an f16 cache. Each checks
/// its shapes against the buffers it is given, picks its dispatch grid and runs its embedded
/// shader. Pipelines are built once here. The shaders' math is in their sources
/// (Sources/CVulkan/shaders); results are compared with the CPU kernels in Tests/GPUTests.
public final class VulkanKernels: @unchecked Sendable {
    public let device: VulkanDevice
    private let pipelines: [VulkanShader: VulkanPipeline]

    public init(device: VulkanDevice) throws(VulkanError) {
        self.device = device
        var pipelines: [VulkanShader: VulkanPipeline] = [:]
        for shader in VulkanShader.allCases { pipelines[shader] = try device.makePipeline(shader) }
        self.pipelines = pipelines
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
    /// (F32, F16, Q4_0, Q8_0, Q5_0, Q4_K or Q6_K, rows contiguous in GGUF's layout, `weightBufferBytes`
    /// large), `input` batch × columns f32, `output` receives batch × rows f32. Quantized
    /// weights are dequantized in the shader and dotted with the f32 activations.
    public func multiply(_ type: GGMLType, weights: VulkanBuffer, input: VulkanBuffer, output: VulkanBuffer,
                         rows: Int, columns: Int, batch: Int = 1) throws(VulkanError) {
        guard let shader = Self.matvecShader(for: type) else {
            throw VulkanError(kind: .invalidArgument, message: "no Vulkan matrix × vector shader for \(type) weights yet")
        }
        try checkShape(rows: rows, columns: columns)
        guard batch >= 1, batch <= device.info.maxWorkGroupCount.z else {
            throw VulkanError(kind: .invalidArgument,
                              message: "a batch of \(batch) rows is outside 1...\(device.info.maxWorkGroupCount.z) (the device's grid)")
        }
        guard let bytes = Self.weightBufferBytes(type, rows: rows, columns: columns) else {
            throw VulkanError(kind: .invalidArgument,
                              message: "\(type) rows of \(columns) columns: not a multiple of \(type.blockSize)")
        }
        try require(weights, bytes: bytes, "\(shader.rawValue) weights")
        // batch ≤ 2³² and columns, rows ≤ 2³¹: these products fit an Int.
        try require(input, bytes: batch * columns * 4, "\(shader.rawValue) input")
        try require(output, bytes: batch * rows * 4, "\(shader.rawValue) output")
        var groups = try grid(rows: rows)
        groups.z = batch
        try device.run(pipelines[shader]!, buffers: [weights, input, output],
                       pushConstants: [UInt32(rows), UInt32(columns)], groups: groups)
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
    /// `.silu`), in f32 (the CPU's GEGLU rounds gelu's input and output to f16).
    public func gatedActivation(_ activation: GateActivation, gate: VulkanBuffer, up: VulkanBuffer,
                                output: VulkanBuffer, count: Int) throws(VulkanError) {
        guard count >= 1, count <= Int(UInt32.max) - 255 else {
            throw VulkanError(kind: .invalidArgument, message: "gated activation of \(count) elements is outside 1...\(Int(UInt32.max) - 255)")
        }
        try require(gate, bytes: count * 4, "gated_activation gate")
        try require(up, bytes: count * 4, "gated_activation up")
        try require(output, bytes: count * 4, "gated_activation output")
        try device.run(pipelines[.gatedActivation]!, buffers: [gate, up, output],
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

    /// Scaled dot-product attention of one query position: `heads` query heads (`queries`,
    /// heads × headDim f32) over the `cells` cached rows of one KV head (`keys`, `values`: f16,
    /// cell c's row at c·stride halves; `positions`: cells Int32), causal and optionally within
    /// `window` positions, with an optional soft cap on the scores. `scores` is scratch (heads ×
    /// cells f32); `output` receives heads × headDim f32.
    public func attend(queries: VulkanBuffer, keys: VulkanBuffer, values: VulkanBuffer, positions: VulkanBuffer,
                       scores: VulkanBuffer, output: VulkanBuffer, heads: Int, headDim: Int, cells: Int, stride: Int,
                       queryPosition: Int32, window: Int?, scale: Float, softcap: Float = 0) throws(VulkanError) {
        guard heads >= 1, heads <= device.info.maxWorkGroupCount.x, headDim >= 1, headDim <= 1 << 16,
              cells >= 1, cells <= Int(Int32.max), stride >= headDim, stride <= 1 << 20 else {
            throw VulkanError(kind: .invalidArgument, message:
                "attention over \(heads) heads of \(headDim) and \(cells) cells \(stride) apart is out of range")
        }
        if let window, window < 1 || window > Int(UInt32.max) {
            throw VulkanError(kind: .invalidArgument, message: "attention window \(window) is outside 1...\(UInt32.max)")
        }
        guard scale.isFinite, softcap.isFinite, softcap >= 0 else {
            throw VulkanError(kind: .invalidArgument, message: "attention scale \(scale) or soft cap \(softcap) is not usable")
        }
        // cells ≤ 2³¹ and stride ≤ 2²⁰: these products fit an Int.
        let rowHalves = (cells - 1) * stride + headDim
        try require(queries, bytes: heads * headDim * 4, "attention queries")
        try require(keys, bytes: (rowHalves * 2 + 3) / 4 * 4, "attention keys")
        try require(values, bytes: (rowHalves * 2 + 3) / 4 * 4, "attention values")
        try require(positions, bytes: cells * 4, "attention positions")
        try require(scores, bytes: heads * cells * 4, "attention scores")
        try require(output, bytes: heads * headDim * 4, "attention output")
        let push: [UInt32] = [UInt32(heads), UInt32(headDim), UInt32(cells), UInt32(stride),
                              UInt32(bitPattern: queryPosition), UInt32(window ?? 0), scale.bitPattern, softcap.bitPattern]
        try device.run(pipelines[.attention]!, buffers: [queries, keys, values, positions, scores, output],
                       pushConstants: push, groups: (heads, 1, 1))
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
