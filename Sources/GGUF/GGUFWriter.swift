#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds GGUF v3 files: metadata in insertion order, then tensors laid out at the alignment.
///
/// For tests and tools (synthetic models, fixtures, slot files); it writes exactly what it is
/// given, so it can also produce deliberately odd files for the reader's tests.
public struct GGUFWriter {
    public var version: UInt32 = 3
    public var metadata = GGUFMetadata()
    public private(set) var tensors: [(name: String, shape: [Int], type: GGMLType, data: [UInt8])] = []

    public init() {}

    public var alignment: Int {
        metadata["general.alignment"]?.integerValue.map { Int($0) } ?? GGUFFile.defaultAlignment
    }

    /// Adds a tensor whose bytes are already in `type`'s block layout.
    public mutating func addTensor(name: String, shape: [Int], type: GGMLType, data: [UInt8]) {
        tensors.append((name, shape, type, data))
    }

    /// Adds an F32 tensor.
    public mutating func addTensor(name: String, shape: [Int], values: [Float]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for v in values { Self.append(v.bitPattern, to: &bytes) }
        addTensor(name: name, shape: shape, type: .f32, data: bytes)
    }

    /// The whole file.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        Self.append(GGUFFile.magic, to: &out)
        Self.append(version, to: &out)
        Self.append(UInt64(tensors.count), to: &out)
        Self.append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata.entries {
            Self.appendString(key, to: &out)
            Self.append(value.type.rawValue, to: &out)
            Self.appendValue(value, to: &out)
        }
        let align = alignment
        var offsets: [UInt64] = []
        var next: UInt64 = 0
        for t in tensors {
            offsets.append(next)
            next += UInt64((t.data.count + align - 1) / align * align)
        }
        for (t, offset) in zip(tensors, offsets) {
            Self.appendString(t.name, to: &out)
            Self.append(UInt32(t.shape.count), to: &out)
            for d in t.shape { Self.append(Int64(d), to: &out) }
            Self.append(t.type.rawValue, to: &out)
            Self.append(offset, to: &out)
        }
        Self.pad(&out, to: align)
        for t in tensors {
            out.append(contentsOf: t.data)
            Self.pad(&out, to: align)
        }
        return out
    }

    /// Writes the file to `path`, replacing it.
    public func write(to path: String) throws {
        let bytes = serialized()
        guard let f = fopen(path, "wb") else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(f) }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        guard written == bytes.count else {
            throw GGUFError.cannotOpen(path: path, reason: "short write")
        }
    }

    // MARK: - Encoding

    static func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    static func appendString(_ s: String, to out: inout [UInt8]) {
        let utf8 = Array(s.utf8)
        append(UInt64(utf8.count), to: &out)
        out.append(contentsOf: utf8)
    }

    static func appendValue(_ value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case let .uint8(v): append(v, to: &out)
        case let .int8(v): append(v, to: &out)
        case let .uint16(v): append(v, to: &out)
        case let .int16(v): append(v, to: &out)
        case let .uint32(v): append(v, to: &out)
        case let .int32(v): append(v, to: &out)
        case let .uint64(v): append(v, to: &out)
        case let .int64(v): append(v, to: &out)
        case let .float32(v): append(v.bitPattern, to: &out)
        case let .float64(v): append(v.bitPattern, to: &out)
        case let .bool(v): out.append(v ? 1 : 0)
        case let .string(s): appendString(s, to: &out)
        case let .array(elementType, items):
            append(elementType.rawValue, to: &out)
            append(UInt64(items.count), to: &out)
            for item in items { appendValue(item, to: &out) }
        }
    }

    static func pad(_ out: inout [UInt8], to alignment: Int) {
        let rem = out.count % alignment
        if rem != 0 { out.append(contentsOf: repeatElement(0, count: alignment - rem)) }
    }
}
