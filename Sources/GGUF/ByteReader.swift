/// A cursor over little-endian bytes that checks every read against the end of the buffer.
///
/// All parsing of untrusted files goes through it, so a truncated or lying file becomes a
/// `GGUFError` naming the offset instead of a read out of bounds.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else {
            throw GGUFError.truncated(offset: offset, needed: count, available: remaining, reading: what())
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// Reads a u64 element count and checks that `count × minimumSize` bytes could still follow,
    /// so that an absurd count fails before anything is allocated for it.
    mutating func readCount(minimumSize: Int, _ what: @autoclosure () -> String) throws -> Int {
        let at = offset
        let raw = try read(UInt64.self, what())
        let (bytesNeeded, overflow) = raw.multipliedReportingOverflow(by: UInt64(max(minimumSize, 0)))
        guard !overflow, raw <= UInt64(Int.max), bytesNeeded <= UInt64(remaining) else {
            throw GGUFError.lengthTooLarge(offset: at, length: raw, available: remaining, reading: what())
        }
        return Int(raw)
    }

    /// A GGUF string: u64 byte length, then UTF-8 bytes (invalid sequences are repaired).
    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let length = try readCount(minimumSize: 1, what())
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        offset += length
        return String(decoding: slice, as: UTF8.self)
    }

    mutating func skip(to newOffset: Int, _ what: @autoclosure () -> String) throws {
        try need(newOffset - offset, what())
        offset = newOffset
    }
}
