import Testing
@testable import GGUF

/// Bad input: every malformed file is a thrown `GGUFError` that names the problem, never a crash
/// or an out-of-bounds read.
@Suite struct GGUFCorruptionTests {
    // MARK: Building raw files by hand

    struct Bytes {
        var b: [UInt8] = []
        mutating func u32(_ v: UInt32) { GGUFWriter.append(v, to: &b) }
        mutating func u64(_ v: UInt64) { GGUFWriter.append(v, to: &b) }
        mutating func i64(_ v: Int64) { GGUFWriter.append(v, to: &b) }
        mutating func str(_ s: String) { GGUFWriter.appendString(s, to: &b) }
        mutating func header(tensors: UInt64, kvs: UInt64, version: UInt32 = 3) {
            u32(GGUFFile.magic); u32(version); u64(tensors); u64(kvs)
        }
        mutating func tensorInfo(_ name: String, dims: [Int64], type: UInt32, offset: UInt64) {
            str(name); u32(UInt32(dims.count)); for d in dims { i64(d) }; u32(type); u64(offset)
        }
        mutating func pad(to a: Int) { GGUFWriter.pad(&b, to: a) }
    }

    func parse(_ bytes: [UInt8]) throws -> GGUFFile { try GGUFFile(bytes: bytes) }

    func expectError(_ bytes: [UInt8], contains text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try parse(bytes)
            Issue.record("parsed without error; expected one mentioning '\(text)'", sourceLocation: sourceLocation)
        } catch let error as GGUFError {
            #expect(error.description.contains(text), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error type \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Specific defects

    @Test func emptyFile() { expectError([], contains: "truncated at offset 0") }

    @Test func wrongMagic() {
        expectError(Array("GGML".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 16), contains: "not a GGUF file")
    }

    @Test(arguments: [UInt32(0), 1, 4, 0xFFFF_FFFF])
    func unsupportedVersion(_ version: UInt32) {
        var f = Bytes(); f.header(tensors: 0, kvs: 0, version: version)
        expectError(f.b, contains: "unsupported GGUF version \(version)")
    }

    @Test func absurdTensorCount() {
        var f = Bytes(); f.header(tensors: UInt64.max, kvs: 0)
        expectError(f.b, contains: "tensor count at offset 8 claims length")
    }

    @Test func absurdMetadataCount() {
        var f = Bytes(); f.header(tensors: 0, kvs: 1 << 62)
        expectError(f.b, contains: "metadata count at offset 16")
    }

    @Test func stringLengthPastEnd() {
        var f = Bytes(); f.header(tensors: 0, kvs: 1)
        f.u64(1 << 40); f.b += Array("key".utf8) + [UInt8](repeating: 0, count: 16)
        expectError(f.b, contains: "metadata key #0 at offset 24 claims length 1099511627776")
    }

    @Test func valueStringPastEnd() {
        var f = Bytes(); f.header(tensors: 0, kvs: 1)
        f.str("k"); f.u32(GGUFValueType.string.rawValue); f.u64(UInt64.max)
        expectError(f.b, contains: "value of 'k'")
    }

    @Test func arrayLengthPastEnd() {
        var f = Bytes(); f.header(tensors: 0, kvs: 1)
        f.str("k"); f.u32(GGUFValueType.array.rawValue); f.u32(GGUFValueType.uint32.rawValue); f.u64(1 << 61)
        expectError(f.b, contains: "length of value of 'k'")
    }

    @Test func unknownValueType() {
        var f = Bytes(); f.header(tensors: 0, kvs: 1)
        f.str("k"); f.u32(13)
        expectError(f.b, contains: "unknown metadata value type 13 at offset 33")
    }

    @Test func nestingTooDeep() {
        var f = Bytes(); f.header(tensors: 0, kvs: 1)
        f.str("k"); f.u32(GGUFValueType.array.rawValue)
        for _ in 0..<20 { f.u32(GGUFValueType.array.rawValue); f.u64(1) }
        f.b += [UInt8](repeating: 0, count: 64)
        expectError(f.b, contains: "nested more than 8 deep")
    }

    @Test func duplicateKey() {
        var f = Bytes(); f.header(tensors: 0, kvs: 2)
        for _ in 0..<2 { f.str("dup"); f.u32(GGUFValueType.uint8.rawValue); f.b.append(1) }
        expectError(f.b, contains: "duplicate metadata key 'dup'")
    }

    @Test(arguments: [UInt32(0), 3, 48])
    func badAlignment(_ alignment: UInt32) {
        var f = Bytes(); f.header(tensors: 0, kvs: 1)
        f.str("general.alignment"); f.u32(GGUFValueType.uint32.rawValue); f.u32(alignment)
        expectError(f.b, contains: "general.alignment must be a non-zero power of two")
    }

    func singleTensorFile(dims: [Int64], type: UInt32 = 0, offset: UInt64 = 0, dataBytes: Int = 64) -> [UInt8] {
        var f = Bytes(); f.header(tensors: 1, kvs: 0)
        f.tensorInfo("w", dims: dims, type: type, offset: offset)
        f.pad(to: 32)
        f.b += [UInt8](repeating: 0, count: dataBytes)
        return f.b
    }

    @Test func wellFormedSingleTensorParses() throws {
        let file = try parse(singleTensorFile(dims: [4, 4]))
        #expect(file.tensors[0].byteCount == 64)
    }

    @Test func tensorDataOutsideFile() {
        expectError(singleTensorFile(dims: [4, 5]), contains: "tensor 'w' data lies at bytes")
        expectError(singleTensorFile(dims: [4, 4], offset: 32), contains: "outside the file")
        expectError(singleTensorFile(dims: [4], offset: UInt64.max - 31), contains: "outside the file")
    }

    @Test func tooManyDimensions() {
        expectError(singleTensorFile(dims: [1, 1, 1, 1, 1]), contains: "has 5 dimensions")
    }

    @Test func negativeDimension() {
        expectError(singleTensorFile(dims: [4, -1]), contains: "invalid size -1 in dimension 1")
    }

    @Test func dimensionsThatOverflow() {
        expectError(singleTensorFile(dims: [1 << 40, 1 << 40, 1 << 40]), contains: "overflows")
    }

    @Test func misalignedOffset() {
        expectError(singleTensorFile(dims: [4], offset: 4), contains: "not a multiple of the alignment 32")
    }

    @Test func unknownTensorType() {
        expectError(singleTensorFile(dims: [4], type: 99), contains: "tensor 'w' at offset 45 has unknown type id 99")
    }

    @Test func rowNotWholeBlocks() {
        expectError(singleTensorFile(dims: [33], type: GGMLType.q4_0.rawValue), contains: "not a multiple of the Q4_0 block size 32")
    }

    @Test func duplicateTensorName() {
        var f = Bytes(); f.header(tensors: 2, kvs: 0)
        f.tensorInfo("w", dims: [4], type: 0, offset: 0)
        f.tensorInfo("w", dims: [4], type: 0, offset: 32)
        f.pad(to: 32); f.b += [UInt8](repeating: 0, count: 64)
        expectError(f.b, contains: "duplicate tensor name 'w'")
    }

    // MARK: Sweeps over real files

    /// Truncating the gguf-py fixture at every offset before the end of the last tensor's data
    /// must be an error (only the writer's trailing padding may be cut).
    @Test func truncationAtEveryOffset() throws {
        let full = try GGUFFile(path: TestPaths.fixture("metadata.gguf"))
        let bytes = Array(full.storage.bytes)
        let dataEnd = full.tensors.map { full.dataOffset + Int($0.offset) + $0.byteCount }.max()!
        #expect(dataEnd > full.dataOffset && dataEnd <= bytes.count)
        for length in 0..<dataEnd {
            #expect(throws: GGUFError.self, "prefix of \(length) bytes") { try parse(Array(bytes[0..<length])) }
        }
    }

    /// Flipping any byte of the header region gives either a clean error or a file whose tensors
    /// all lie inside it (some flips land in string contents and are harmless).
    @Test func byteFlipsInHeader() throws {
        let full = try GGUFFile(path: TestPaths.fixture("metadata.gguf"))
        let bytes = Array(full.storage.bytes)
        var errors = 0
        for i in 0..<full.dataOffset {
            for mask: UInt8 in [0xFF, 0x80, 0x01] {
                var corrupt = bytes
                corrupt[i] ^= mask
                do {
                    let f = try parse(corrupt)
                    for t in f.tensors {
                        #expect(f.dataOffset + Int(t.offset) + t.byteCount <= corrupt.count)
                    }
                } catch is GGUFError {
                    errors += 1
                }
            }
        }
        #expect(errors > full.dataOffset)
    }

    /// The real model truncated at offsets across its header and data: always a clean error.
    @Test func realModelTruncated() throws {
        let storage = try GGUFStorage(path: TestPaths.model)
        let model = storage.bytes
        let full = try GGUFFile(storage: storage)
        var offsets = Array(stride(from: 0, to: full.dataOffset, by: max(1, full.dataOffset / 40)))
        offsets += [full.dataOffset - 1, full.dataOffset, full.dataOffset + 1, model.count / 2, model.count - 1]
        for length in offsets {
            let prefix = UnsafeRawBufferPointer(rebasing: model[0..<length])
            let view = GGUFStorage(bytes: prefix) { _ in }
            #expect(throws: GGUFError.self, "prefix of \(length) bytes") { try GGUFFile(storage: view) }
        }
    }
}
