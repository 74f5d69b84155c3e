import GPU

/// The text of `cria info --devices`: one block per Vulkan device, or one line saying why there
/// is none (no loader, no driver, a build without Vulkan). Having no GPU is not an error here.
enum VulkanDeviceListing {
    static func render() -> String {
        let devices: [VulkanDeviceInfo]
        do {
            devices = try VulkanDevice.list()
        } catch {
            return error.message
        }
        if devices.isEmpty {
            return "no Vulkan devices: the loader found no driver; install mesa-vulkan-drivers or your GPU's Vulkan driver"
        }
        let preferred = VulkanDevice.preferredIndex(among: devices)
        var lines = ["Vulkan devices: \(devices.count)"]
        for device in devices {
            lines.append("  \(device.index): \(device.name)\(device.index == preferred ? "  (default)" : "")")
            lines.append("     type \(device.kind.rawValue), Vulkan \(device.apiVersionString), vendor 0x\(hex(device.vendorID)), device 0x\(hex(device.deviceID))")
            let subgroup = device.subgroupSize > 0 ? "\(device.subgroupSize)" : "not reported"
            lines.append("     compute \(device.hasCompute ? "yes" : "no"), subgroup size \(subgroup), max workgroup \(device.maxWorkGroupInvocations) invocations, push constants \(device.maxPushConstantBytes) bytes")
            for (i, heap) in device.heaps.enumerated() {
                lines.append("     memory heap \(i): \(heap.bytes >> 20) MiB\(heap.deviceLocal ? ", device-local" : "")")
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
