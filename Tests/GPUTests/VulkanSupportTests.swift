import CVulkan
@testable import GPU
import Testing

/// What needs no Vulkan device: shape arithmetic, device ranking, error conversion.
@Suite struct VulkanSupportTests {
    @Test func q8_0BufferIsWholeWordsOfBlocks() {
        // 3 rows × 2 blocks × 34 bytes = 204 bytes, already whole words; 1 × 1 × 34 = 34 → 36.
        #expect(VulkanKernels.q8_0BufferBytes(rows: 3, columns: 64) == 204)
        #expect(VulkanKernels.q8_0BufferBytes(rows: 1, columns: 32) == 36)
        #expect(VulkanKernels.q8_0BufferBytes(rows: 1, columns: 33) == nil)
        #expect(VulkanKernels.q8_0BufferBytes(rows: Int.max, columns: 64) == nil)
        #expect(VulkanKernels.q4_KBufferBytes(rows: 2, columns: 512) == 576)
        #expect(VulkanKernels.q4_KBufferBytes(rows: 2, columns: 500) == nil)
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
