import GPU

/// What the user asked to offload: `-ngl`, `-mg` and `-ts` as given (the plan needs the model's
/// layer count and the machine's devices to become an `OffloadPlan`).
public struct OffloadRequest: Sendable, Equatable {
    public var gpuLayers: Int
    /// nil: the preferred device (discrete GPUs first, see `VulkanDevice.preferredIndex`).
    public var mainDevice: Int?
    public var split: [Double]?

    public init(gpuLayers: Int, mainDevice: Int? = nil, split: [Double]? = nil) {
        self.gpuLayers = gpuLayers
        self.mainDevice = mainDevice
        self.split = split
    }

    /// The plan over this machine's Vulkan devices; nil when nothing is offloaded (`-ngl 0`).
    /// Throws, naming what is missing, where Vulkan or a device is not there.
    public func plan(layers: Int) throws(ModelError) -> OffloadPlan? {
        guard gpuLayers != 0 else { return nil }
        let devices: [VulkanDeviceInfo]
        do { devices = try VulkanDevice.list() } catch { throw .offload(error.message) }
        guard let preferred = VulkanDevice.preferredIndex(among: devices) else {
            throw .offload(devices.isEmpty
                ? "the Vulkan loader found no device; install your GPU's Vulkan driver (or mesa-vulkan-drivers for lavapipe)"
                : "no Vulkan device has a compute queue")
        }
        return try OffloadPlan(layers: layers, gpuLayers: gpuLayers, deviceCount: devices.count,
                               mainDevice: mainDevice ?? preferred, split: split)
    }
}

/// Which layers of a model run on which Vulkan device, from llama-server's `-ngl`, `-mg` and
/// `-ts`: the last `-ngl` layers go to the devices (all of them, and the output norm and LM
/// head too, when `-ngl` is at least the layer count); without `-ts` they all go to the main
/// device, with it they are split in contiguous runs, device by device, in proportion to its
/// numbers. Layers before them stay on the CPU. Devices are indexes in `VulkanDevice.list()`.
public struct OffloadPlan: Sendable, Equatable {
    /// Per layer, the device it runs on; nil: the CPU.
    public let layerDevices: [Int?]
    /// The device of the output norm and LM head; nil: the CPU.
    public let outputDevice: Int?

    /// The devices the plan uses, in layer order.
    public var devices: [Int] {
        var seen: [Int] = []
        for d in layerDevices.compactMap({ $0 }) + [outputDevice].compactMap({ $0 }) where !seen.contains(d) { seen.append(d) }
        return seen
    }

    public var offloadedLayers: Int { layerDevices.count { $0 != nil } }

    /// `gpuLayers` (-ngl, ≥ 0; more than the model has means all), `mainDevice` (-mg: the device
    /// used without a split), `split` (-ts: one non-negative share per device, in device order,
    /// shares beyond `deviceCount` ignored; nil or empty: no split) over `deviceCount` devices.
    public init(layers: Int, gpuLayers: Int, deviceCount: Int, mainDevice: Int, split: [Double]? = nil) throws(ModelError) {
        guard gpuLayers >= 0 else { throw .offload("-ngl \(gpuLayers) is negative") }
        guard deviceCount > 0 else { throw .offload("no Vulkan device is available") }
        guard mainDevice >= 0, mainDevice < deviceCount else {
            throw .offload("-mg \(mainDevice): there \(deviceCount == 1 ? "is 1 Vulkan device" : "are \(deviceCount) Vulkan devices") "
                + "(0...\(deviceCount - 1); `cria info --devices` lists them)")
        }
        let offloaded = min(gpuLayers, layers)
        var owners: [Int]
        // Shares for devices this machine does not have are ignored, as llama.cpp ignores them, so
        // a command line written for a bigger machine still runs.
        let shares = split.map { Array($0.prefix(deviceCount)) }
        if let split, !split.isEmpty, let shares {
            guard split.allSatisfy({ $0.isFinite && $0 >= 0 }), shares.reduce(0, +) > 0 else {
                throw .offload("-ts \(split.map { "\($0)" }.joined(separator: ",")): shares must be non-negative numbers, "
                    + "not all zero for the \(deviceCount) device\(deviceCount == 1 ? "" : "s") this machine has")
            }
            owners = Self.distribute(offloaded, shares: shares)
        } else {
            owners = Array(repeating: mainDevice, count: offloaded)
        }
        layerDevices = Array(repeating: nil, count: layers - offloaded) + owners.map { Optional($0) }
        let last = shares.flatMap { s in s.indices.last { s[$0] > 0 } } ?? mainDevice
        outputDevice = gpuLayers >= layers ? (owners.last ?? last) : nil
    }

    /// Device of each of `count` layers: device i takes the layers whose index falls below its
    /// cumulative share of `count` (rounded), so the runs are contiguous and in device order.
    static func distribute(_ count: Int, shares: [Double]) -> [Int] {
        let total = shares.reduce(0, +)
        var bounds: [Int] = []
        var cumulative = 0.0
        for share in shares {
            cumulative += share
            bounds.append(Int((Double(count) * cumulative / total).rounded()))
        }
        bounds[bounds.count - 1] = count
        return (0..<count).map { layer in bounds.firstIndex { layer < $0 }! }
    }
}
