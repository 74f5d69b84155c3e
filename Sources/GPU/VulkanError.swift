import CVulkan

/// Why a Vulkan operation failed: the C layer's status and sentence, never a crash. `noLoader`
/// and `notBuilt` mean this machine or binary has no Vulkan at all; callers show `message`.
public struct VulkanError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The binary was built without the Vulkan headers.
        case notBuilt
        /// libvulkan.so.1 could not be opened.
        case noLoader
        /// No device, or no device with that index.
        case noDevice
        /// A Vulkan call failed; `vkResult` says how.
        case vulkan
        /// A size, count or shape is out of range.
        case invalidArgument
        case outOfMemory
    }

    public let kind: Kind
    /// The VkResult of the failed call (0 when no Vulkan call failed).
    public let vkResult: Int32
    public let message: String

    public var description: String { message }

    public init(kind: Kind, message: String, vkResult: Int32 = 0) {
        self.kind = kind
        self.message = message
        self.vkResult = vkResult
    }

    init(_ error: CVKError) {
        let kind: Kind = switch CVKStatus(UInt32(bitPattern: error.status)) {
        case CVK_STATUS_NOT_BUILT: .notBuilt
        case CVK_STATUS_NO_LOADER: .noLoader
        case CVK_STATUS_NO_DEVICE: .noDevice
        case CVK_STATUS_INVALID_ARGUMENT: .invalidArgument
        case CVK_STATUS_OUT_OF_MEMORY: .outOfMemory
        default: .vulkan
        }
        let message = withUnsafeBytes(of: error.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        self.init(kind: kind, message: message, vkResult: error.vkResult)
    }
}
