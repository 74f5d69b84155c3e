/// Everything that can be wrong with a GGUF file, each case naming the problem and where it sits.
///
/// Offsets are byte offsets from the start of the file, so a user can look at the bytes with a
/// hex dump; `description` is the message `cria` prints.
public enum GGUFError: Error, Equatable, CustomStringConvertible, Sendable {
    case cannotOpen(path: String, reason: String)
    case truncated(offset: Int, needed: Int, available: Int, reading: String)
    case badMagic(found: UInt32)
    case unsupportedVersion(UInt32)
    case unknownValueType(offset: Int, rawValue: UInt32)
    case lengthTooLarge(offset: Int, length: UInt64, available: Int, reading: String)
    case duplicateKey(offset: Int, key: String)
    case nestingTooDeep(offset: Int, limit: Int)
    case badAlignment(value: String)
    case tooManyDimensions(tensor: String, offset: Int, count: UInt32)
    case badDimension(tensor: String, offset: Int, dimension: Int, value: Int64)
    case elementCountOverflow(tensor: String, offset: Int)
    case unknownTensorType(tensor: String, offset: Int, rawValue: UInt32)
    case unsupportedTensorType(tensor: String, type: String)
    case rowNotBlockAligned(tensor: String, rowLength: Int, type: String, blockSize: Int)
    case misalignedTensorOffset(tensor: String, offset: UInt64, alignment: Int)
    case tensorOutOfBounds(tensor: String, start: UInt64, end: UInt64, fileSize: Int)
    case duplicateTensor(offset: Int, name: String)
    case missingKey(String)
    case wrongValueType(key: String, expected: String, found: String)
    case missingTensor(String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open GGUF file '\(path)': \(reason)"
        case let .truncated(offset, needed, available, reading):
            return "GGUF file truncated at offset \(offset): reading \(reading) needs \(needed) bytes but only \(available) remain"
        case let .badMagic(found):
            let bytes = withUnsafeBytes(of: found.littleEndian) { Array($0) }
            return "not a GGUF file: magic bytes are \(bytes.map { String(format2: $0) }.joined(separator: " ")) (expected 47 47 55 46, \"GGUF\")"
        case let .unsupportedVersion(version):
            return "unsupported GGUF version \(version) (supported: 2 and 3)"
        case let .unknownValueType(offset, rawValue):
            return "unknown metadata value type \(rawValue) at offset \(offset)"
        case let .lengthTooLarge(offset, length, available, reading):
            return "\(reading) at offset \(offset) claims length \(length), but only \(available) bytes remain in the file"
        case let .duplicateKey(offset, key):
            return "duplicate metadata key '\(key)' at offset \(offset)"
        case let .nestingTooDeep(offset, limit):
            return "metadata arrays nested more than \(limit) deep at offset \(offset)"
        case let .badAlignment(value):
            return "general.alignment must be a non-zero power of two, found \(value)"
        case let .tooManyDimensions(tensor, offset, count):
            return "tensor '\(tensor)' at offset \(offset) has \(count) dimensions (at most 4 are allowed)"
        case let .badDimension(tensor, offset, dimension, value):
            return "tensor '\(tensor)' at offset \(offset) has invalid size \(value) in dimension \(dimension)"
        case let .elementCountOverflow(tensor, offset):
            return "tensor '\(tensor)' at offset \(offset) has dimensions whose product overflows"
        case let .unknownTensorType(tensor, offset, rawValue):
            return "tensor '\(tensor)' at offset \(offset) has unknown type id \(rawValue)"
        case let .unsupportedTensorType(tensor, type):
            return "tensor '\(tensor)' has type \(type), which Cria does not support"
        case let .rowNotBlockAligned(tensor, rowLength, type, blockSize):
            return "tensor '\(tensor)' has rows of \(rowLength) elements, not a multiple of the \(type) block size \(blockSize)"
        case let .misalignedTensorOffset(tensor, offset, alignment):
            return "tensor '\(tensor)' has data offset \(offset), not a multiple of the alignment \(alignment)"
        case let .tensorOutOfBounds(tensor, start, end, fileSize):
            return "tensor '\(tensor)' data lies at bytes \(start)..<\(end), outside the file (size \(fileSize))"
        case let .duplicateTensor(offset, name):
            return "duplicate tensor name '\(name)' at offset \(offset)"
        case let .missingKey(key):
            return "GGUF metadata key '\(key)' is missing"
        case let .wrongValueType(key, expected, found):
            return "GGUF metadata key '\(key)' has type \(found), expected \(expected)"
        case let .missingTensor(name):
            return "tensor '\(name)' is missing from the model file"
        }
    }
}

extension String {
    /// Two lowercase hex digits for a byte.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
