import GGUF

/// Conversion of tensor data from any supported storage format to f32.
///
/// The reference path every kernel is tested against: for each format the arithmetic is done in
/// f32 in the same order as gguf-py's numpy dequantizers (e.g. `(d·sc)·q − dmin·m`), so results
/// are bit-identical to them.
public enum Dequantize {
    /// The formats `row(_:…)` can convert.
    public static let supportedTypes: Set<GGMLType> = [
        .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
        .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq4_nl, .iq4_xs,
        .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq1_s, .iq1_m, .tq1_0, .tq2_0, .mxfp4,
    ]

    public static func isSupported(_ type: GGMLType) -> Bool { supportedTypes.contains(type) }

    /// Checks that `count` elements of `type` can be dequantized.
    public static func validate(_ type: GGMLType, count: Int) throws {
        guard isSupported(type) else { throw NumericsError.unsupportedType(type.name) }
        guard count % type.blockSize == 0 else {
            throw NumericsError.partialBlock(type: type.name, count: count, blockSize: type.blockSize)
        }
    }

    /// Dequantizes `count` elements (a multiple of the type's block size) starting at `src`.
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) throws {
        try validate(type, count: count)
        rowUnchecked(type, src, count: count, into: dst)
    }

    /// `row` for callers that validated the type and count already (weights are checked when a
    /// model binds them). Non-throwing on purpose: Swift 6.3.1's optimizer clobbered the error
    /// register when these loops sat inside a throwing function, so hot loops stay out of them.
    public static func rowUnchecked(_ type: GGMLType, _ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        let blocks = count / type.blockSize
        switch type {
        case .f32: dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16: FloatFormats.f16(src, count: count, into: dst)
        case .bf16: FloatFormats.bf16(src, count: count, into: dst)
        case .q4_0: LegacyQuantFormats.q4_0(src, blocks: blocks, into: dst)
        case .q4_1: LegacyQuantFormats.q4_1(src, blocks: blocks, into: dst)
        case .q5_0: LegacyQuantFormats.q5_0(src, blocks: blocks, into: dst)
        case .q5_1: LegacyQuantFormats.q5_1(src, blocks: blocks, into: dst)
        case .q8_0: LegacyQuantFormats.q8_0(src, blocks: blocks, into: dst)
        case .q2_K: KQuantFormats.q2_K(src, blocks: blocks, into: dst)
        case .q3_K: KQuantFormats.q3_K(src, blocks: blocks, into: dst)
        case .q4_K: KQuantFormats.q4_K(src, blocks: blocks, into: dst)
        case .q5_K: KQuantFormats.q5_K(src, blocks: blocks, into: dst)
        case .q6_K: KQuantFormats.q6_K(src, blocks: blocks, into: dst)
        case .q8_K: KQuantFormats.q8_K(src, blocks: blocks, into: dst)
        case .iq4_nl: IQ4Formats.iq4_nl(src, blocks: blocks, into: dst)
        case .iq4_xs: IQ4Formats.iq4_xs(src, blocks: blocks, into: dst)
        case .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq1_s, .iq1_m:
            IQuantFormats.dequantize(type, src, blocks: blocks, into: dst)
        case .tq1_0, .tq2_0: TernaryFormats.dequantize(type, src, blocks: blocks, into: dst)
        case .mxfp4: MXFP4Format.dequantize(src, blocks: blocks, into: dst)
        default: dst.update(repeating: .nan, count: count)
        }
    }

    /// Dequantizes a whole tensor into a new array.
    public static func tensor(_ info: GGUFTensorInfo, in file: GGUFFile) throws -> [Float] {
        guard isSupported(info.type) else { throw NumericsError.unsupportedTensorType(tensor: info.name, type: info.type.name) }
        let bytes = file.data(for: info)
        let count = info.elementCount
        try validate(info.type, count: count)
        var out = [Float](repeating: 0, count: count)
        if count > 0 {
            out.withUnsafeMutableBufferPointer { rowUnchecked(info.type, bytes.baseAddress!, count: count, into: $0.baseAddress!) }
        }
        return out
    }
}

/// Errors from the numeric layer, naming the format involved.
public enum NumericsError: Error, CustomStringConvertible, Equatable {
    case unsupportedType(String)
    case unsupportedTensorType(tensor: String, type: String)
    case partialBlock(type: String, count: Int, blockSize: Int)

    public var description: String {
        switch self {
        case let .unsupportedType(t): return "tensor type \(t) is not supported"
        case let .unsupportedTensorType(tensor, type): return "tensor '\(tensor)' has type \(type), which Cria cannot compute with"
        case let .partialBlock(type, count, blockSize):
            return "\(count) elements of \(type) is not a whole number of \(blockSize)-element blocks"
        }
    }
}

/// Little helpers for reading block fields at byte offsets.
@inline(__always) func loadF16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian))
}

@inline(__always) func loadByte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
    p.load(fromByteOffset: offset, as: UInt8.self)
}
