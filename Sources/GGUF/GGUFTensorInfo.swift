/// One entry of a GGUF file's tensor directory.
///
/// `shape` is in GGML order: `shape[0]` is the length of a row (the contiguous dimension).
/// `offset` is relative to the start of the data section; `byteCount` is derived from the
/// type's block geometry.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let type: GGMLType
    public let offset: UInt64
    public let byteCount: Int

    public init(name: String, shape: [Int], type: GGMLType, offset: UInt64, byteCount: Int) {
        self.name = name
        self.shape = shape
        self.type = type
        self.offset = offset
        self.byteCount = byteCount
    }

    public var elementCount: Int { shape.reduce(1, *) }
    public var rowLength: Int { shape.first ?? 1 }
    public var rowCount: Int { elementCount / max(rowLength, 1) }
    public var rowByteCount: Int { rowLength / type.blockSize * type.typeSize }

    /// Bytes for `shape` in `type`, or nil when the row length is not whole blocks or it overflows.
    public static func byteCount(shape: [Int], type: GGMLType) -> Int? {
        var elements = 1
        for d in shape {
            let (p, o) = elements.multipliedReportingOverflow(by: d)
            if o { return nil }
            elements = p
        }
        guard (shape.first ?? 1) % type.blockSize == 0 else { return nil }
        let (bytes, o) = (elements / type.blockSize).multipliedReportingOverflow(by: type.typeSize)
        return o ? nil : bytes
    }
}
