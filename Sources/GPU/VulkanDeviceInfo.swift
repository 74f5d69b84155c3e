import CVulkan

/// What the Vulkan loader reports about one physical device: identity, API version, the limits
/// the kernels check their dispatches against, and the memory heaps (for `cria info --devices`
/// and, later, for placing weights).
public struct VulkanDeviceInfo: Sendable, Equatable {
    /// VkPhysicalDeviceType.
    public enum Kind: String, Sendable {
        case other, integratedGPU = "integrated GPU", discreteGPU = "discrete GPU", virtualGPU = "virtual GPU", cpu
    }

    /// One memory heap: its size and whether it is the device's own memory.
    public struct Heap: Sendable, Equatable {
        public let bytes: UInt64
        public let deviceLocal: Bool
    }

    /// Position in the loader's device order (what `VulkanDevice(index:)` takes).
    public let index: Int
    public let name: String
    public let kind: Kind
    /// Vulkan's packed version: major << 22 | minor << 12 | patch (the variant in the top 3 bits).
    public let apiVersion: UInt32
    public let driverVersion: UInt32
    public let vendorID: UInt32
    public let deviceID: UInt32
    /// 0 when the device does not report it.
    public let subgroupSize: Int
    public let hasCompute: Bool
    public let maxWorkGroupInvocations: Int
    public let maxWorkGroupCount: (x: Int, y: Int, z: Int)
    public let maxPushConstantBytes: Int
    public let maxStorageBufferBytes: Int
    public let heaps: [Heap]
    /// Whether shaders may use 64-bit floats (the RMS norm and attention builds that reproduce
    /// the CPU's f64 sums and roundings need them).
    public let supportsFloat64: Bool

    /// "1.3.230".
    public var apiVersionString: String {
        "\(apiVersion >> 22 & 0x7F).\(apiVersion >> 12 & 0x3FF).\(apiVersion & 0xFFF)"
    }

    init(index: Int, _ info: CVKDeviceInfo) {
        self.index = index
        name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        kind = switch info.deviceType {
        case 1: .integratedGPU
        case 2: .discreteGPU
        case 3: .virtualGPU
        case 4: .cpu
        default: .other
        }
        apiVersion = info.apiVersion
        driverVersion = info.driverVersion
        vendorID = info.vendorID
        deviceID = info.deviceID
        subgroupSize = Int(info.subgroupSize)
        hasCompute = info.hasCompute != 0
        maxWorkGroupInvocations = Int(info.maxComputeWorkGroupInvocations)
        maxWorkGroupCount = (Int(info.maxComputeWorkGroupCount.0), Int(info.maxComputeWorkGroupCount.1),
                             Int(info.maxComputeWorkGroupCount.2))
        maxPushConstantBytes = Int(info.maxPushConstantsSize)
        maxStorageBufferBytes = Int(info.maxStorageBufferRange)
        supportsFloat64 = info.shaderFloat64 != 0
        let count = min(Int(info.heapCount), Int(CVK_MAX_HEAPS))
        heaps = withUnsafeBytes(of: info.heapSize) { sizes in
            withUnsafeBytes(of: info.heapDeviceLocal) { local in
                (0..<count).map {
                    Heap(bytes: sizes.load(fromByteOffset: $0 * 8, as: UInt64.self),
                         deviceLocal: local.load(fromByteOffset: $0 * 4, as: UInt32.self) != 0)
                }
            }
        }
    }

    public static func == (a: VulkanDeviceInfo, b: VulkanDeviceInfo) -> Bool {
        a.index == b.index && a.name == b.name && a.kind == b.kind && a.apiVersion == b.apiVersion
            && a.vendorID == b.vendorID && a.deviceID == b.deviceID && a.heaps == b.heaps
    }
}
