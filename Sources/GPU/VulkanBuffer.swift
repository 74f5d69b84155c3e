import CVulkan

/// A storage buffer in host-visible, host-coherent memory, mapped for its whole life: the host
/// writes inputs and reads results through `contents`, with no copies or flushes. (Device-local
/// buffers with staging copies come with weight placement.)
public final class VulkanBuffer: @unchecked Sendable {
    let device: VulkanDevice
    let handle: OpaquePointer
    public let byteCount: Int
    /// The mapped memory; valid until the buffer is released.
    public let contents: UnsafeMutableRawPointer

    init(device: VulkanDevice, bytes: Int) throws(VulkanError) {
        guard bytes > 0, bytes <= device.info.maxStorageBufferBytes else {
            throw VulkanError(kind: .invalidArgument, message:
                "a storage buffer of \(bytes) bytes is outside 1...\(device.info.maxStorageBufferBytes) (\(device.info.name)'s maxStorageBufferRange)")
        }
        var error = CVKError()
        guard let handle = cvk_buffer_create(device.context, UInt64(bytes), &error) else { throw VulkanError(error) }
        guard let contents = cvk_buffer_contents(handle) else {
            cvk_buffer_destroy(handle)
            throw VulkanError(kind: .vulkan, message: "a Vulkan buffer has no mapped memory")
        }
        self.device = device
        self.handle = handle
        self.byteCount = bytes
        self.contents = contents
    }

    deinit { cvk_buffer_destroy(handle) }

    /// Copies `bytes` into the buffer from offset 0.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(VulkanError) {
        guard bytes.count <= byteCount else {
            throw VulkanError(kind: .invalidArgument, message: "\(bytes.count) bytes do not fit a \(byteCount)-byte buffer")
        }
        if let base = bytes.baseAddress { contents.copyMemory(from: base, byteCount: bytes.count) }
    }

    public func write(_ values: [Float]) throws(VulkanError) {
        let (bytes, overflow) = values.count.multipliedReportingOverflow(by: 4)
        guard !overflow, bytes <= byteCount else {
            throw VulkanError(kind: .invalidArgument, message: "\(values.count) floats do not fit a \(byteCount)-byte buffer")
        }
        values.withUnsafeBytes { if let base = $0.baseAddress { contents.copyMemory(from: base, byteCount: $0.count) } }
    }

    /// The first `count` floats of the buffer.
    public func readFloats(count: Int) throws(VulkanError) -> [Float] {
        guard count >= 0, count <= byteCount / 4 else {
            throw VulkanError(kind: .invalidArgument, message: "\(count) floats do not fit a \(byteCount)-byte buffer")
        }
        return Array(UnsafeBufferPointer(start: contents.assumingMemoryBound(to: Float.self), count: count))
    }
}
