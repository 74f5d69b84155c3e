import CVulkan
import GGUF
@testable import GPU
import Testing

/// What needs no Vulkan device: shape arithmetic, device ranking, error conversion.
@Suite struct VulkanSupportTests {
    @Test func weightBuffersAreWholeWordsOfBlocks() {
        // 3 rows × 2 blocks × 34 bytes = 204 bytes, already whole words; 1 × 1 × 34 = 34 → 36;
        // Q5_0 1 × 3 × 22 = 66 → 68; Q6_K 1 × 210 → 212; Q4_K 2 × 2 × 144 = 576.
        #expect(VulkanKernels.weightBufferBytes(.q8_0, rows: 3, columns: 64) == 204)
        #expect(VulkanKernels.weightBufferBytes(.q8_0, rows: 1, columns: 32) == 36)
        #expect(VulkanKernels.weightBufferBytes(.q5_0, rows: 1, columns: 96) == 68)
        #expect(VulkanKernels.weightBufferBytes(.q6_K, rows: 1, columns: 256) == 212)
        #expect(VulkanKernels.weightBufferBytes(.q4_K, rows: 2, columns: 512) == 576)
        #expect(VulkanKernels.weightBufferBytes(.f32, rows: 2, columns: 3) == 24)
        #expect(VulkanKernels.weightBufferBytes(.f16, rows: 1, columns: 3) == 8)
        #expect(VulkanKernels.weightBufferBytes(.q4_0, rows: 1, columns: 32) == 20)
        #expect(VulkanKernels.weightBufferBytes(.q8_0, rows: 1, columns: 33) == nil)
        #expect(VulkanKernels.weightBufferBytes(.q4_K, rows: 2, columns: 500) == nil)
        #expect(VulkanKernels.weightBufferBytes(.q8_0, rows: Int.max, columns: 64) == nil)
    }

    @Test func matvecShadersCoverTheTestModelsFormats() {
        // gemma-3-270m-q4_k_m holds F32, Q8_0, Q5_0, Q4_K and Q6_K matrices; F16 and Q4_0 are common.
        for type in [GGMLType.f32, .f16, .q4_0, .q8_0, .q5_0, .q4_K, .q6_K] {
            #expect(VulkanKernels.matvecShader(for: type) != nil, "\(type)")
        }
        #expect(VulkanKernels.matvecShader(for: .iq2_xxs) == nil)
    }

    @Test func everyShaderIsEmbedded() {
        for shader in VulkanShader.allCases {
            let entry = cvk_shader_find(shader.rawValue)
            #expect(entry != nil, "shader \(shader.rawValue) not in shaders_spirv.c")
            // SPIR-V's magic number opens every module.
            #expect(entry?.pointee.words.pointee == 0x0723_0203)
        }
        #expect(cvk_shader_find("no_such_shader") == nil)
    }

    @Test func failuresComeBackAsErrorsNotCrashes() {
        var error = CVKError()
        // No context: a clear error, no dereference.
        #expect(cvk_buffer_create(nil, 16, &error) == nil)
        #expect(error.status == Int32(CVK_STATUS_INVALID_ARGUMENT.rawValue)
                || error.status == Int32(CVK_STATUS_NOT_BUILT.rawValue))
        let groups: [UInt32] = [1, 1, 1]
        #expect(cvk_pipeline_run(nil, nil, nil, 0, nil, 0, groups, &error) != CVK_STATUS_OK)
    }

    @Test func preferredDeviceIsTheFastestKindWithCompute() {
        func device(_ index: Int, type: UInt32, compute: Bool) -> VulkanDeviceInfo {
            var raw = CVKDeviceInfo()
            raw.deviceType = type
            raw.hasCompute = compute ? 1 : 0
            return VulkanDeviceInfo(index: index, raw)
        }
        // cpu (lavapipe), discrete GPU without compute, integrated GPU, discrete GPU.
        let devices = [device(0, type: 4, compute: true), device(1, type: 2, compute: false),
                       device(2, type: 1, compute: true), device(3, type: 2, compute: true)]
        #expect(VulkanDevice.preferredIndex(among: devices) == 3)
        #expect(VulkanDevice.preferredIndex(among: Array(devices.prefix(3))) == 2)
        #expect(VulkanDevice.preferredIndex(among: [devices[1]]) == nil)
        #expect(devices[0].kind == .cpu && devices[2].kind == .integratedGPU)
    }
}
