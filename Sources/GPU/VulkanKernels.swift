/// The compute kernels on one Vulkan device (F32, Q8_0 and Q4_K matrix × vector, RMS norm): each checks its shapes against the buffers it is
/// given, picks its dispatch grid and runs its embedded shader. Pipelines are built once here.
/// The shaders' math is in their sources (Sources/CVulkan/shaders); results are compared with
/// the CPU kernels in Tests/GPUTests.
public final class VulkanKernels: @unchecked Sendable {
    public let device: VulkanDevice
    private let pipelines: [VulkanShader: VulkanPipeline]

    public init(device: VulkanDevice) throws(VulkanError) {
        self.device = device
        var pipelines: [VulkanShader: VulkanPipeline] = [:]
        for shader in VulkanShader.allCases { pipelines[shader] = try device.makePipeline(shader) }
        self.pipelines = pipelines
    }

    /// Bytes of a Q8_0 matrix (34-byte blocks of 32) rounded up to whole 32-bit words, which is
    /// how the Q8_0 shader reads it: the buffer for `matvecQ8_0`'s weights must be this large.
    public static func q8_0BufferBytes(rows: Int, columns: Int) -> Int? {
        guard rows >= 0, columns >= 0, columns % 32 == 0 else { return nil }
        let (bytes, overflow) = rows.multipliedReportingOverflow(by: columns / 32 * 34)
        guard !overflow, bytes <= Int.max - 3 else { return nil }
        return (bytes + 3) / 4 * 4
    }

    /// Bytes of a Q4_K matrix (144-byte super-blocks of 256, already whole words): the buffer
    /// for `matvecQ4_K`'s weights must be this large.
    public static func q4_KBufferBytes(rows: Int, columns: Int) -> Int? {
        guard rows >= 0, columns >= 0, columns % 256 == 0 else { return nil }
        let (bytes, overflow) = rows.multipliedReportingOverflow(by: columns / 256 * 144)
        return overflow ? nil : bytes
    }

    /// y[r] = Σ_k W[r][k]·x[k]: `weights` holds rows × columns f32 (row-major), `input` columns
    /// f32, `output` receives rows f32.
    public func matvecF32(weights: VulkanBuffer, input: VulkanBuffer, output: VulkanBuffer,
                          rows: Int, columns: Int) throws(VulkanError) {
        try checkShape(rows: rows, columns: columns)
        try require(weights, bytes: Self.product(rows, columns, 4), "matvec_f32 weights")
        try require(input, bytes: columns * 4, "matvec_f32 input")
        try require(output, bytes: rows * 4, "matvec_f32 output")
        try device.run(pipelines[.matvecF32]!, buffers: [weights, input, output],
                       pushConstants: [UInt32(rows), UInt32(columns)], groups: try grid(rows: rows))
    }

    /// y[r] = Σ_b d_b·Σ_i q_b[i]·x[32b+i]: `weights` holds rows × columns in Q8_0 blocks (rows
    /// contiguous, padded to a whole word: `q8_0BufferBytes`), `input` columns f32 (columns a
    /// multiple of 32), `output` receives rows f32.
    public func matvecQ8_0(weights: VulkanBuffer, input: VulkanBuffer, output: VulkanBuffer,
                           rows: Int, columns: Int) throws(VulkanError) {
        try checkShape(rows: rows, columns: columns)
        guard let bytes = Self.q8_0BufferBytes(rows: rows, columns: columns) else {
            throw VulkanError(kind: .invalidArgument, message: "Q8_0 rows of \(columns) columns: not a multiple of 32")
        }
        try require(weights, bytes: bytes, "matvec_q8_0 weights")
        try require(input, bytes: columns * 4, "matvec_q8_0 input")
        try require(output, bytes: rows * 4, "matvec_q8_0 output")
        try device.run(pipelines[.matvecQ8_0]!, buffers: [weights, input, output],
                       pushConstants: [UInt32(rows), UInt32(columns)], groups: try grid(rows: rows))
    }

    /// y[r] = Σ_k W[r][k]·x[k] with W in Q4_K super-blocks (rows contiguous, columns a multiple
    /// of 256: `q4_KBufferBytes`), `input` columns f32, `output` receives rows f32.
    public func matvecQ4_K(weights: VulkanBuffer, input: VulkanBuffer, output: VulkanBuffer,
                           rows: Int, columns: Int) throws(VulkanError) {
        try checkShape(rows: rows, columns: columns)
        guard let bytes = Self.q4_KBufferBytes(rows: rows, columns: columns) else {
            throw VulkanError(kind: .invalidArgument, message: "Q4_K rows of \(columns) columns: not a multiple of 256")
        }
        try require(weights, bytes: bytes, "matvec_q4_K weights")
        try require(input, bytes: columns * 4, "matvec_q4_K input")
        try require(output, bytes: rows * 4, "matvec_q4_K output")
        try device.run(pipelines[.matvecQ4_K]!, buffers: [weights, input, output],
                       pushConstants: [UInt32(rows), UInt32(columns)], groups: try grid(rows: rows))
    }

    /// y[r][i] = x[r][i] / sqrt(mean(x[r]²) + eps) · w[i] for `rows` rows of `count` f32.
    public func rmsNorm(input: VulkanBuffer, weight: VulkanBuffer, output: VulkanBuffer,
                        rows: Int, count: Int, eps: Float) throws(VulkanError) {
        try checkShape(rows: rows, columns: count)
        guard eps.isFinite, eps >= 0 else {
            throw VulkanError(kind: .invalidArgument, message: "rms_norm eps \(eps) is not a finite non-negative number")
        }
        let bytes = Self.product(rows, count, 4)
        try require(input, bytes: bytes, "rms_norm input")
        try require(weight, bytes: count * 4, "rms_norm weight")
        try require(output, bytes: bytes, "rms_norm output")
        try device.run(pipelines[.rmsNorm]!, buffers: [input, weight, output],
                       pushConstants: [UInt32(rows), UInt32(count), eps.bitPattern], groups: try grid(rows: rows))
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

    /// a·b·c, or Int.max when it overflows (then no buffer is large enough).
    private static func product(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let (ab, o1) = a.multipliedReportingOverflow(by: b)
        let (abc, o2) = ab.multipliedReportingOverflow(by: c)
        return o1 || o2 ? Int.max : abc
    }

    private func require(_ buffer: VulkanBuffer, bytes: Int, _ what: String) throws(VulkanError) {
        guard buffer.byteCount >= bytes else {
            throw VulkanError(kind: .invalidArgument, message: "\(what) needs \(bytes) bytes, the buffer has \(buffer.byteCount)")
        }
    }

    /// One workgroup per row; rows beyond the device's first-dimension limit spill into the
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
