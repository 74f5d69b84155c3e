/// Slot files: one sequence's cells as bytes and back.
///
/// Layout (little-endian): UInt32 layer count, UInt32 kvDimension, UInt32 cell count n,
/// n × Int32 positions, then for each layer n × kvDimension f16 keys and n × kvDimension f16 values.
extension KVCache {
    /// The cells of `sequence` in the layout above.
    public func encodedSequence(_ sequence: Int) -> [UInt8] {
        let s = cells(sequence)
        let n = s.count
        var out: [UInt8] = []
        out.reserveCapacity(12 + n * 4 + layerCount * 2 * n * kvDimension * 2)
        for v in [UInt32(layerCount), UInt32(kvDimension), UInt32(n)] { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        out += UnsafeRawBufferPointer(start: s.positions, count: n * 4)
        for l in 0..<layerCount {
            out += UnsafeRawBufferPointer(start: s.key(layer: l, cell: 0), count: n * kvDimension * 2)
            out += UnsafeRawBufferPointer(start: s.value(layer: l, cell: 0), count: n * kvDimension * 2)
        }
        return out
    }

    /// Replaces the cells of `sequence` with bytes from `encodedSequence`.
    /// Throws when the bytes were written for a different model shape or do not fit.
    public func loadSequence(_ sequence: Int, from bytes: [UInt8]) throws(ModelError) {
        func header(_ i: Int) -> Int {
            bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
        }
        guard bytes.count >= 12 else { throw .badBatch("slot data is truncated") }
        let layers = header(0), dim = header(1), n = header(2)
        guard layers == layerCount, dim == kvDimension else {
            throw .badBatch("slot data has \(layers) layers × \(dim) KV values; this model has \(layerCount) × \(kvDimension)")
        }
        guard n <= capacity else { throw .contextFull(sequence: sequence, capacity: capacity) }
        let expected = 12 + n * 4 + layerCount * 2 * n * kvDimension * 2
        guard bytes.count == expected else { throw .badBatch("slot data has \(bytes.count) bytes, expected \(expected)") }
        let s = cells(sequence)
        bytes.withUnsafeBytes { raw in
            var offset = 12
            func copy(into p: UnsafeMutableRawPointer, _ count: Int) {
                p.copyMemory(from: raw.baseAddress! + offset, byteCount: count)
                offset += count
            }
            copy(into: s.positions, n * 4)
            for l in 0..<layerCount {
                copy(into: s.key(layer: l, cell: 0), n * kvDimension * 2)
                copy(into: s.value(layer: l, cell: 0), n * kvDimension * 2)
            }
        }
        s.count = n
    }
}
