/// Why a model could not be loaded or run, each case naming what the user can fix.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unsupportedArchitecture(String)
    case missingMetadata(key: String)
    case missingTensor(String)
    case wrongTensorShape(tensor: String, expected: [Int], found: [Int])
    case unsupportedTensorType(tensor: String, type: String)
    case invalidHyperparameter(String)
    case contextFull(sequence: Int, capacity: Int)
    case badBatch(String)
    /// GPU offload (-ngl) cannot run this model or this device failed.
    case offload(String)
    /// The KV cache a context size asks for cannot be held in memory.
    case cacheTooLarge(String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(a):
            return "unsupported model architecture '\(a)' (supported: \(ModelConfiguration.supportedArchitectures.joined(separator: ", ")))"
        case let .missingMetadata(key): return "model metadata is missing '\(key)'"
        case let .missingTensor(name): return "model is missing tensor '\(name)'"
        case let .wrongTensorShape(tensor, expected, found):
            return "tensor '\(tensor)' has shape \(found), expected \(expected)"
        case let .unsupportedTensorType(tensor, type): return "tensor '\(tensor)' has type \(type), which Cria cannot compute with"
        case let .invalidHyperparameter(text): return "invalid model hyper-parameter: \(text)"
        case let .contextFull(sequence, capacity): return "context of sequence \(sequence) is full (\(capacity) tokens)"
        case let .badBatch(text): return "invalid batch: \(text)"
        case let .offload(text): return "GPU offload (-ngl): \(text)"
        case let .cacheTooLarge(text): return "KV cache too large: \(text); lower -c"
        }
    }
}
