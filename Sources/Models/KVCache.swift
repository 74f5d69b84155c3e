import CriaNumerics
import GGUF

/// Keys and values of past tokens, per sequence, so each step only computes new tokens.
///
/// Every sequence (a server slot, a perplexity chunk) owns up to `capacity` cells, stored in
/// position order: cell `i` of layer `l` holds K and V vectors of `kvDimension` values for the
/// token at `positions[i]`, in `keyType` and `valueType` (f16 by default; q8_0 or q4_0 with
/// `-ctk`/`-ctv`, see `KVCacheFormats`). Removing a range compacts the cells; shifting changes positions
/// (the model re-rotates the keys, see `TransformerModel.shift`); copying a prefix lets a new
/// sequence reuse a cached prompt.
public final class KVCache: @unchecked Sendable {
    public let layerCount: Int
    public let kvDimension: Int
    public let capacity: Int
    public let keyType: GGMLType
    public let valueType: GGMLType
    /// Bytes of one cell's K (all KV heads) in one layer, and of its V.
    public let keyRowBytes: Int, valueRowBytes: Int
    /// Hadamard block sizes queries/keys and values are rotated by before a quantized cache keeps
    /// them (`KVCacheFormats.rotation`); 0 for none.
    public let keyRotation: Int, valueRotation: Int
    private var sequences: [Int: SequenceCells] = [:]

    /// `keyType`/`valueType` must be in `KVCacheFormats.supported` and split each head into whole
    /// blocks (`TransformerModel.makeCache` checks this against the model).
    public init(layerCount: Int, kvDimension: Int, capacity: Int, keyType: GGMLType = .f16, valueType: GGMLType = .f16,
                keyRotation: Int = 0, valueRotation: Int = 0) {
        self.layerCount = layerCount
        self.kvDimension = kvDimension
        self.capacity = capacity
        self.keyType = keyType
        self.valueType = valueType
        keyRowBytes = KVCacheFormats.rowBytes(keyType, count: kvDimension)
        valueRowBytes = KVCacheFormats.rowBytes(valueType, count: kvDimension)
        self.keyRotation = keyRotation
        self.valueRotation = valueRotation
    }

    /// Bytes the cells of one full sequence take (keys and values of every layer, and positions).
    public var bytesPerSequence: Int { layerCount * capacity * (keyRowBytes + valueRowBytes) + capacity * 4 }

    /// The cells of `sequence`, created empty on first use.
    func cells(_ sequence: Int) -> SequenceCells {
        if let s = sequences[sequence] { return s }
        let s = SequenceCells(layers: layerCount, capacity: capacity, keyRowBytes: keyRowBytes, valueRowBytes: valueRowBytes)
        sequences[sequence] = s
        return s
    }

    /// Number of cached tokens of `sequence`.
    public func count(_ sequence: Int) -> Int { sequences[sequence]?.count ?? 0 }

    /// Cached positions of `sequence`, in order.
    public func positions(_ sequence: Int) -> [Int32] {
        guard let s = sequences[sequence] else { return [] }
        return Array(UnsafeBufferPointer(start: s.positions, count: s.count))
    }

    /// One past the last cached position (0 when empty).
    public func nextPosition(_ sequence: Int) -> Int32 {
        guard let s = sequences[sequence], s.count > 0 else { return 0 }
        return s.positions[s.count - 1] + 1
    }

    /// Forgets everything cached for `sequence` and releases its memory.
    public func clear(_ sequence: Int) { sequences[sequence] = nil }

    public func clearAll() { sequences.removeAll() }

    /// Removes the cells whose positions lie in `range`, keeping the others in order.
    public func remove(_ sequence: Int, positions range: Range<Int32>) {
        guard let s = sequences[sequence] else { return }
        s.keep { !range.contains($0) }
    }

    /// Copies the cells of `source` with positions below `end` into `destination`, replacing it.
    public func copyPrefix(from source: Int, to destination: Int, end: Int32) {
        guard source != destination else { return }
        let dst = cells(destination)
        dst.count = 0
        guard let src = sequences[source] else { return }
        var n = 0
        while n < src.count && src.positions[n] < end { n += 1 }
        dst.copy(from: src, count: n)
    }

    /// Moves each position p in `range` to `newPosition(p)` and returns the moved cells with
    /// how far each moved (the model must also rotate their keys).
    func repositionCells(_ sequence: Int, range: Range<Int32>, to newPosition: (Int32) -> Int32) -> [(cell: Int, delta: Int32)] {
        guard let s = sequences[sequence] else { return [] }
        var moved: [(cell: Int, delta: Int32)] = []
        for i in 0..<s.count where range.contains(s.positions[i]) {
            let p = newPosition(s.positions[i])
            if p != s.positions[i] { moved.append((i, p - s.positions[i])) }
            s.positions[i] = p
        }
        return moved
    }
}

/// The storage of one sequence: positions plus K and V rows for every layer, laid out
/// [layer][cell][row bytes] so attention reads each layer's cells contiguously.
final class SequenceCells {
    let layers: Int, capacity: Int, keyRowBytes: Int, valueRowBytes: Int
    var count = 0
    let positions: UnsafeMutablePointer<Int32>
    let keys: UnsafeMutableRawPointer
    let values: UnsafeMutableRawPointer

    init(layers: Int, capacity: Int, keyRowBytes: Int, valueRowBytes: Int) {
        self.layers = layers
        self.capacity = capacity
        self.keyRowBytes = keyRowBytes
        self.valueRowBytes = valueRowBytes
        positions = .allocate(capacity: capacity)
        keys = .allocate(byteCount: layers * capacity * keyRowBytes, alignment: 64)
        values = .allocate(byteCount: layers * capacity * valueRowBytes, alignment: 64)
    }

    deinit {
        positions.deallocate()
        keys.deallocate()
        values.deallocate()
    }

    @inline(__always) func key(layer: Int, cell: Int) -> UnsafeMutableRawPointer {
        keys + (layer * capacity + cell) * keyRowBytes
    }

    @inline(__always) func value(layer: Int, cell: Int) -> UnsafeMutableRawPointer {
        values + (layer * capacity + cell) * valueRowBytes
    }

    /// Compacts the cells, keeping those whose position satisfies `predicate`.
    func keep(_ predicate: (Int32) -> Bool) {
        var out = 0
        for i in 0..<count where predicate(positions[i]) {
            if out != i {
                positions[out] = positions[i]
                for l in 0..<layers {
                    key(layer: l, cell: out).copyMemory(from: key(layer: l, cell: i), byteCount: keyRowBytes)
                    value(layer: l, cell: out).copyMemory(from: value(layer: l, cell: i), byteCount: valueRowBytes)
                }
            }
            out += 1
        }
        count = out
    }

    func copy(from src: SequenceCells, count n: Int) {
        positions.update(from: src.positions, count: n)
        for l in 0..<layers {
            key(layer: l, cell: 0).copyMemory(from: src.key(layer: l, cell: 0), byteCount: n * keyRowBytes)
            value(layer: l, cell: 0).copyMemory(from: src.value(layer: l, cell: 0), byteCount: n * valueRowBytes)
        }
        count = n
    }
}
