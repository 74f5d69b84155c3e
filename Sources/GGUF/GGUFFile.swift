/// A parsed GGUF file (versions 2 and 3): header, metadata, tensor directory, and access to
/// each tensor's bytes in place.
///
/// Parsing validates everything that could later cause an out-of-bounds read: every length
/// against the bytes left, every tensor's dimensions, alignment and extent against the file.
/// Tensor types that Cria cannot compute with are still accepted here (so `cria info` can show
/// any file); `Models` rejects them when it binds weights.
public final class GGUFFile: @unchecked Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" read as little-endian u32
    public static let defaultAlignment = 32
    public static let maxDimensions = 4

    public let version: UInt32
    public let metadata: GGUFMetadata
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Offset of the tensor data section from the start of the file.
    public let dataOffset: Int
    public let storage: GGUFStorage
    private let tensorIndex: [String: Int]

    /// Opens and parses the file at `path`, memory-mapped unless `mode` is `.read`.
    public convenience init(path: String, mode: GGUFStorage.LoadMode = .mmap, mlock: Bool = false) throws {
        try self.init(storage: GGUFStorage(path: path, mode: mode, mlock: mlock))
    }

    /// Parses bytes already in memory.
    public convenience init(bytes: [UInt8]) throws {
        try self.init(storage: GGUFStorage(copying: bytes))
    }

    public init(storage: GGUFStorage) throws {
        self.storage = storage
        var r = ByteReader(storage.bytes)

        let magic = try r.read(UInt32.self, "magic")
        guard magic == Self.magic else { throw GGUFError.badMagic(found: magic) }
        let version = try r.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        self.version = version

        // A tensor directory entry needs at least: name length (8), n_dims (4), type (4), offset (8).
        let tensorCount = try r.readCount(minimumSize: 24, "tensor count")
        // A metadata entry needs at least: key length (8), type (4), one byte of value.
        let kvCount = try r.readCount(minimumSize: 13, "metadata count")

        var metadata = GGUFMetadata()
        for i in 0..<kvCount {
            let at = r.offset
            let key = try r.readString("metadata key #\(i)")
            let value = try Self.readValue(&r, context: "value of '\(key)'")
            guard !metadata.contains(key) else { throw GGUFError.duplicateKey(offset: at, key: key) }
            metadata[key] = value
        }
        self.metadata = metadata
        self.alignment = try Self.alignment(from: metadata)

        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(tensorCount)
        var index: [String: Int] = [:]
        for i in 0..<tensorCount {
            let at = r.offset
            let info = try Self.readTensorInfo(&r, number: i, alignment: alignment)
            guard index[info.name] == nil else { throw GGUFError.duplicateTensor(offset: at, name: info.name) }
            index[info.name] = tensors.count
            tensors.append(info)
        }
        self.tensors = tensors
        self.tensorIndex = index

        // The data section starts at the next multiple of the alignment after the directory.
        let padded = (r.offset + alignment - 1) / alignment * alignment
        let fileSize = storage.bytes.count
        self.dataOffset = padded
        for t in tensors {
            let start = UInt64(padded) &+ t.offset
            let (end, o) = start.addingReportingOverflow(UInt64(t.byteCount))
            guard !o, t.offset <= UInt64(Int.max), end <= UInt64(fileSize) else {
                throw GGUFError.tensorOutOfBounds(tensor: t.name, start: start, end: o ? UInt64.max : end, fileSize: fileSize)
            }
        }
    }

    public var fileSize: Int { storage.bytes.count }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The bytes of `tensor`, in place in the mapping; valid while this file is alive.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + Int(tensor.offset)
        return UnsafeRawBufferPointer(rebasing: storage.bytes[start..<start + tensor.byteCount])
    }

    // MARK: - Parsing pieces

    private static func alignment(from metadata: GGUFMetadata) throws -> Int {
        guard let value = metadata["general.alignment"] else { return defaultAlignment }
        guard let a = value.integerValue, a > 0, a <= 1 << 30, a & (a - 1) == 0 else {
            throw GGUFError.badAlignment(value: value.summary())
        }
        return Int(a)
    }

    /// Nested arrays are legal in GGUF; the depth limit keeps a malicious file from exhausting
    /// the stack.
    private static let maxArrayDepth = 8

    private static func readValue(_ r: inout ByteReader, context: String, depth: Int = 0) throws -> GGUFValue {
        let typeAt = r.offset
        let rawType = try r.read(UInt32.self, "type of \(context)")
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw GGUFError.unknownValueType(offset: typeAt, rawValue: rawType)
        }
        return try readValue(&r, type: type, context: context, depth: depth)
    }

    private static func readValue(_ r: inout ByteReader, type: GGUFValueType, context: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try r.read(UInt8.self, context))
        case .int8: return .int8(try r.read(Int8.self, context))
        case .uint16: return .uint16(try r.read(UInt16.self, context))
        case .int16: return .int16(try r.read(Int16.self, context))
        case .uint32: return .uint32(try r.read(UInt32.self, context))
        case .int32: return .int32(try r.read(Int32.self, context))
        case .uint64: return .uint64(try r.read(UInt64.self, context))
        case .int64: return .int64(try r.read(Int64.self, context))
        case .float32: return .float32(try r.readFloat(context))
        case .float64: return .float64(try r.readDouble(context))
        case .bool: return .bool(try r.read(UInt8.self, context) != 0)
        case .string: return .string(try r.readString(context))
        case .array:
            let typeAt = r.offset
            let rawType = try r.read(UInt32.self, "element type of \(context)")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.unknownValueType(offset: typeAt, rawValue: rawType)
            }
            if elementType == .array && depth + 1 >= maxArrayDepth {
                throw GGUFError.nestingTooDeep(offset: typeAt, limit: maxArrayDepth)
            }
            let count = try r.readCount(minimumSize: elementType.minimumEncodedSize, "length of \(context)")
            var items: [GGUFValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count {
                items.append(try readValue(&r, type: elementType, context: context, depth: depth + 1))
            }
            return .array(elementType, items)
        }
    }

    private static func readTensorInfo(_ r: inout ByteReader, number: Int, alignment: Int) throws -> GGUFTensorInfo {
        let at = r.offset
        let name = try r.readString("name of tensor #\(number)")
        let dimCount = try r.read(UInt32.self, "dimension count of tensor '\(name)'")
        guard dimCount <= UInt32(maxDimensions) else {
            throw GGUFError.tooManyDimensions(tensor: name, offset: at, count: dimCount)
        }
        var shape: [Int] = []
        var elements = 1
        for d in 0..<Int(dimCount) {
            let v = try r.read(Int64.self, "dimension \(d) of tensor '\(name)'")
            guard v >= 0, v <= Int64(Int32.max) * 1024 else {
                throw GGUFError.badDimension(tensor: name, offset: at, dimension: d, value: v)
            }
            let (p, o) = elements.multipliedReportingOverflow(by: Int(v))
            guard !o, p <= Int(Int64.max) / 8 else { throw GGUFError.elementCountOverflow(tensor: name, offset: at) }
            elements = p
            shape.append(Int(v))
        }
        let typeAt = r.offset
        let rawType = try r.read(UInt32.self, "type of tensor '\(name)'")
        guard let type = GGMLType(rawValue: rawType) else {
            throw GGUFError.unknownTensorType(tensor: name, offset: typeAt, rawValue: rawType)
        }
        let offset = try r.read(UInt64.self, "data offset of tensor '\(name)'")
        guard offset % UInt64(alignment) == 0 else {
            throw GGUFError.misalignedTensorOffset(tensor: name, offset: offset, alignment: alignment)
        }
        let rowLength = shape.first ?? 1
        guard rowLength % type.blockSize == 0 else {
            throw GGUFError.rowNotBlockAligned(tensor: name, rowLength: rowLength, type: type.name, blockSize: type.blockSize)
        }
        guard let bytes = GGUFTensorInfo.byteCount(shape: shape, type: type) else {
            throw GGUFError.elementCountOverflow(tensor: name, offset: at)
        }
        return GGUFTensorInfo(name: name, shape: shape, type: type, offset: offset, byteCount: bytes)
    }
}
