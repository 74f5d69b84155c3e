import GGUF

/// Slot files: one sequence's cells as bytes and back.
///
/// Layout (little-endian): UInt32 magic "CKV2", UInt32 layer count, UInt32 kvDimension, UInt32
/// key type, UInt32 value type (GGUF type ids), UInt32 cell count n, n × Int32 positions, then for
/// each layer the n key rows and the n value rows in their stored format. Files written before the
/// cache types existed have no magic or types (UInt32 layers, kvDimension, n, then f16 rows) and
/// are still read into an f16 cache.
extension KVCache {
    static let slotMagic: UInt32 = 0x3256_4B43  // "CKV2"

    /// The cells of `sequence` in the layout above.
    public func encodedSequence(_ sequence: Int) -> [UInt8] {
        let s = existingCells(sequence)
        let n = s?.count ?? 0
        var out: [UInt8] = []
        out.reserveCapacity(24 + n * 4 + layerCount * n * (keyRowBytes + valueRowBytes))
        let header = [Self.slotMagic, UInt32(layerCount), UInt32(kvDimension), keyType.rawValue, valueType.rawValue, UInt32(n)]
        for v in header { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        guard let s, n > 0 else { return out }
        out += UnsafeRawBufferPointer(start: s.positions, count: n * 4)
        for l in 0..<layerCount {
            out += UnsafeRawBufferPointer(start: s.key(layer: l, cell: 0), count: n * keyRowBytes)
            out += UnsafeRawBufferPointer(start: s.value(layer: l, cell: 0), count: n * valueRowBytes)
        }
        return out
    }

    /// The most bytes `encodedSequence` writes for one sequence of this cache (a full one), which
    /// bounds what a restore needs to read.
    public var maximumEncodedSequenceBytes: Int {
        24 + capacity * 4 + layerCount * capacity * (keyRowBytes + valueRowBytes)
    }

    /// Replaces the cells of `sequence` with bytes from `encodedSequence`.
    /// Throws when the bytes were written for a different model shape or cache type, or do not fit.
    public func loadSequence(_ sequence: Int, from bytes: [UInt8]) throws(ModelError) {
        func word(_ i: Int) -> UInt32 {
            bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) }
        }
        guard bytes.count >= 12 else { throw .badBatch("slot data is truncated") }
        let versioned = word(0) == Self.slotMagic
        guard !versioned || bytes.count >= 24 else { throw .badBatch("slot data is truncated") }
        let base = versioned ? 1 : 0
        let layers = Int(word(base)), dim = Int(word(base + 1))
        let keys = versioned ? GGMLType(rawValue: word(3)) : .f16
        let values = versioned ? GGMLType(rawValue: word(4)) : .f16
        let n = Int(word(versioned ? 5 : 2))
        let headerBytes = versioned ? 24 : 12
        guard layers == layerCount, dim == kvDimension else {
            throw .badBatch("slot data has \(layers) layers × \(dim) KV values; this model has \(layerCount) × \(kvDimension)")
        }
        guard keys == keyType, values == valueType else {
            let names = [keys, values].map { $0?.name.lowercased() ?? "an unknown type" }
            throw .badBatch("slot data holds \(names[0]) keys and \(names[1]) values; this server's cache stores "
                + "\(keyType.name.lowercased()) keys and \(valueType.name.lowercased()) values (-ctk/-ctv)")
        }
        guard n <= capacity else { throw .contextFull(sequence: sequence, capacity: capacity) }
        let expected = headerBytes + n * 4 + layerCount * n * (keyRowBytes + valueRowBytes)
        guard bytes.count == expected else { throw .badBatch("slot data has \(bytes.count) bytes, expected \(expected)") }
        let s = try cells(sequence)
        bytes.withUnsafeBytes { raw in
            var offset = headerBytes
            func copy(into p: UnsafeMutableRawPointer, _ count: Int) {
                p.copyMemory(from: raw.baseAddress! + offset, byteCount: count)
                offset += count
            }
            copy(into: s.positions, n * 4)
            for l in 0..<layerCount {
                copy(into: s.key(layer: l, cell: 0), n * keyRowBytes)
                copy(into: s.value(layer: l, cell: 0), n * valueRowBytes)
            }
        }
        s.count = n
    }
}
