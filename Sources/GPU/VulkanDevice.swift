import CVulkan

/// One Vulkan device opened for compute: a logical device with one compute queue. It makes
/// storage buffers and pipelines and runs a pipeline synchronously (submit, then wait). The
/// loader is opened at run time, so on a machine without Vulkan `open` throws a `VulkanError`
/// saying so and nothing else changes. Runs on one device are serialized by the C layer.
public final class VulkanDevice: @unchecked Sendable {
    let context: OpaquePointer
    public let info: VulkanDeviceInfo

    /// Every device the loader reports, in its order.
    public static func list() throws(VulkanError) -> [VulkanDeviceInfo] {
        var error = CVKError()
        var count: UInt32 = 0
        guard cvk_list_devices(nil, 0, &count, &error) == CVK_STATUS_OK else { throw VulkanError(error) }
        guard count > 0 else { return [] }
        var raw = [CVKDeviceInfo](repeating: CVKDeviceInfo(), count: Int(count))
        var filled = count
        guard cvk_list_devices(&raw, count, &filled, &error) == CVK_STATUS_OK else { throw VulkanError(error) }
        return raw.prefix(Int(min(count, filled))).enumerated().map { VulkanDeviceInfo(index: $0.offset, $0.element) }
    }

    /// The device to use when none is named: the first with compute, discrete GPUs before
    /// integrated, virtual and CPU devices (lavapipe is a CPU device).
    public static func preferredIndex(among devices: [VulkanDeviceInfo]) -> Int? {
        let rank: [VulkanDeviceInfo.Kind: Int] = [.discreteGPU: 0, .integratedGPU: 1, .virtualGPU: 2, .cpu: 3, .other: 4]
        return devices.filter(\.hasCompute).min { rank[$0.kind]! < rank[$1.kind]! }?.index
    }

    /// Opens device `index` (in `list()` order), or the preferred compute device when nil.
    public init(index: Int? = nil) throws(VulkanError) {
        let chosen: Int
        if let index {
            guard index >= 0, index <= Int(UInt32.max) else {
                throw VulkanError(kind: .noDevice, message: "Vulkan device \(index) does not exist")
            }
            chosen = index
        } else {
            let devices = try Self.list()
            guard let preferred = Self.preferredIndex(among: devices) else {
                throw VulkanError(kind: .noDevice, message: devices.isEmpty
                    ? "the Vulkan loader found no device; install mesa-vulkan-drivers or your GPU's Vulkan driver"
                    : "no Vulkan device has a compute queue")
            }
            chosen = preferred
        }
        var error = CVKError()
        var raw = CVKDeviceInfo()
        guard let context = cvk_context_create(UInt32(chosen), &raw, &error) else { throw VulkanError(error) }
        self.context = context
        info = VulkanDeviceInfo(index: chosen, raw)
    }

    deinit { cvk_context_destroy(context) }

    /// A host-visible storage buffer of `bytes` bytes (zero-filled by the driver is not promised).
    public func makeBuffer(bytes: Int) throws(VulkanError) -> VulkanBuffer {
        try VulkanBuffer(device: self, bytes: bytes)
    }

    /// A compute pipeline for one embedded shader.
    public func makePipeline(_ shader: VulkanShader, build: VulkanShader.Build = .standard) throws(VulkanError) -> VulkanPipeline {
        try VulkanPipeline(device: self, shader: shader, build: build)
    }

    /// Runs `pipeline` over `groups` workgroups with `buffers` bound at bindings 0, 1, … and
    /// `pushConstants` as its push-constant block, and waits for it to finish.
    public func run(_ pipeline: VulkanPipeline, buffers: [VulkanBuffer], pushConstants: [UInt32],
                    groups: (x: Int, y: Int, z: Int)) throws(VulkanError) {
        guard pipeline.device === self, buffers.allSatisfy({ $0.device === self }) else {
            throw VulkanError(kind: .invalidArgument, message: "a pipeline or buffer from another Vulkan device")
        }
        let counts = [groups.x, groups.y, groups.z]
        guard counts.allSatisfy({ $0 >= 1 && $0 <= Int(UInt32.max) }) else {
            throw VulkanError(kind: .invalidArgument, message: "workgroup counts \(counts) are outside 1...\(UInt32.max)")
        }
        var error = CVKError()
        let groupCounts = counts.map { UInt32($0) }
        let handles: [OpaquePointer?] = buffers.map { $0.handle }
        let status = handles.withUnsafeBufferPointer { handlePointer in
            pushConstants.withUnsafeBytes { push in
                groupCounts.withUnsafeBufferPointer { groupPointer in
                    cvk_pipeline_run(context, pipeline.handle, handlePointer.baseAddress, UInt32(handles.count),
                                     push.baseAddress, UInt32(push.count), groupPointer.baseAddress, &error)
                }
            }
        }
        // The buffers must outlive the run, not just the handle array.
        withExtendedLifetime(buffers) {}
        guard status == CVK_STATUS_OK else { throw VulkanError(error) }
    }
}
