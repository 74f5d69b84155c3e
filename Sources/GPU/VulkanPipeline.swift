import CVulkan

/// The compute shaders embedded in the binary (Sources/CVulkan/shaders/NAME.comp, compiled by
/// scripts/build-shaders), with the buffers and push constants each one declares.
public enum VulkanShader: String, CaseIterable, Sendable {
    case matvecF32 = "matvec_f32"
    case matvecF16 = "matvec_f16"
    case matvecQ4_0 = "matvec_q4_0"
    case matvecQ8_0 = "matvec_q8_0"
    case matvecQ5_0 = "matvec_q5_0"
    case matvecQ4_K = "matvec_q4_K"
    case matvecQ5_K = "matvec_q5_K"
    case matvecQ6_K = "matvec_q6_K"
    case rmsNorm = "rms_norm"
    case gatedActivation = "gated_activation"
    case rope = "rope"
    case attentionRows = "attention_rows"
    case storeHalfRows = "store_half_rows"
    case addScaled = "add_scaled"
    case roundActivations = "round_activations"

    /// Storage buffers at bindings 0..<bindingCount.
    var bindingCount: Int {
        switch self {
        case .rope, .storeHalfRows, .addScaled, .roundActivations: 2
        case .gatedActivation: 4
        case .attentionRows: 7
        default: 3
        }
    }

    /// Bytes of the shader's push-constant block.
    var pushConstantBytes: Int {
        switch self {
        case .matvecF32, .matvecF16, .matvecQ4_0, .matvecQ8_0, .matvecQ5_0, .matvecQ4_K, .matvecQ5_K, .matvecQ6_K: 12
        case .rmsNorm: 12
        case .gatedActivation, .roundActivations: 8
        case .rope: 20
        case .attentionRows: 40
        case .storeHalfRows, .addScaled: 12
        }
    }

    /// Which compilation of a shader (scripts/build-shaders): as written, a matrix product with
    /// one invocation per row taking one activation row (`_rowwise`) or 8 (`_rowwise8`), or
    /// with 64-bit floats where the CPU's arithmetic needs them (`_f64`: the RMS norm, RoPE,
    /// attention, the activation quantizer; `_rowwise_f64`, `_rowwise8_f64`: the quantized products' fused multiply-adds).
    public enum Build: String, Sendable {
        case standard = "", rowwise = "_rowwise", rowwise8 = "_rowwise8", float64 = "_f64"
        case rowwiseFloat64 = "_rowwise_f64", rowwise8Float64 = "_rowwise8_f64"
    }

    /// Whether `build` of the shader is embedded (scripts/build-shaders decides which exist).
    public func has(_ build: Build) -> Bool { spirv(build) != nil }

    /// The embedded SPIR-V words of one build, found by name in the generated table.
    func spirv(_ build: Build = .standard) -> UnsafeBufferPointer<UInt32>? {
        guard let entry = cvk_shader_find(rawValue + build.rawValue) else { return nil }
        return UnsafeBufferPointer(start: entry.pointee.words, count: entry.pointee.wordCount)
    }
}

/// A compute pipeline built from one embedded shader on one device.
public final class VulkanPipeline: @unchecked Sendable {
    let device: VulkanDevice
    let handle: OpaquePointer
    public let shader: VulkanShader
    public let build: VulkanShader.Build

    init(device: VulkanDevice, shader: VulkanShader, build: VulkanShader.Build = .standard) throws(VulkanError) {
        guard let words = shader.spirv(build), let base = words.baseAddress else {
            throw VulkanError(kind: .invalidArgument, message:
                "no embedded SPIR-V for shader \(shader.rawValue)\(build.rawValue) (run scripts/build-shaders)")
        }
        var error = CVKError()
        guard let handle = cvk_pipeline_create(device.context, base, words.count, UInt32(shader.bindingCount),
                                               UInt32(shader.pushConstantBytes), &error) else {
            throw VulkanError(error)
        }
        self.device = device
        self.handle = handle
        self.shader = shader
        self.build = build
    }

    deinit { cvk_pipeline_destroy(handle) }
}
