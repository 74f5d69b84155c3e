/// Keys and values of past tokens, per sequence, so each step only computes new tokens.
///
/// Every sequence (a server slot, a perplexity chunk) owns up to `capacity` cells, stored in
/// position order: cell `i` of layer `l` holds K and V vectors of `kvDimension` f16 values for the
/// token at `positions[i]`. Removing a range compacts the cells; shifting changes positions
/// (the model re-rotates the keys, see `TransformerModel.shift`); copying a prefix lets a new
/// sequence reuse a cached prompt.
public final class KVCache: @unchecked Sendable {
    public let layerCount: Int
    public let kvDimension: Int
    public let capacity: Int
    private var sequences: [Int: SequenceCells] = [:]

    public init(layerCount: Int, kvDimension: Int, capacity: Int) {
        self.layerCount = layerCount
        self.kvDimension = kvDimension
        self.capacity = capacity
    }

    /// The cells of `sequence`, created empty on first use.
    func cells(_ sequence: Int) -> SequenceCells {
        if let s = sequences[sequence] { return s }
        let s = SequenceCells(layers: layerCount, kvDimension: kvDimension, capacity: capacity)
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

    /// Adds `delta` to the positions in `range` (the model must also rotate the keys).
    func shiftPositions(_ sequence: Int, range: Range<Int32>, delta: Int32) -> [Int] {
        guard let s = sequences[sequence] else { return [] }
        var moved: [Int] = []
        for i in 0..<s.count where range.contains(s.positions[i]) {
            s.positions[i] += delta
            moved.append(i)
        }
        return moved
    }
}

/// The storage of one sequence: positions plus K and V for every layer, laid out
/// [layer][cell][kvDimension] so attention reads each layer's cells contiguously.
final class SequenceCells {
    let layers: Int, kvDimension: Int, capacity: Int
    var count = 0
    let positions: UnsafeMutablePointer<Int32>
    let keys: UnsafeMutablePointer<Float16>
    let values: UnsafeMutablePointer<Float16>

    init(layers: Int, kvDimension: Int, capacity: Int) {
        self.layers = layers
        self.kvDimension = kvDimension
        self.capacity = capacity
        positions = .allocate(capacity: capacity)
        keys = .allocate(capacity: layers * capacity * kvDimension)
        values = .allocate(capacity: layers * capacity * kvDimension)
    }

    deinit {
        positions.deallocate()
        keys.deallocate()
        values.deallocate()
    }

    @inline(__always) func key(layer: Int, cell: Int) -> UnsafeMutablePointer<Float16> {
        keys + (layer * capacity + cell) * kvDimension
    }

    @inline(__always) func value(layer: Int, cell: Int) -> UnsafeMutablePointer<Float16> {
        values + (layer * capacity + cell) * kvDimension
    }

    /// Compacts the cells, keeping those whose position satisfies `predicate`.
    func keep(_ predicate: (Int32) -> Bool) {
        var out = 0
        for i in 0..<count where predicate(positions[i]) {
            if out != i {
                positions[out] = positions[i]
                for l in 0..<layers {
                    key(layer: l, cell: out).update(from: key(layer: l, cell: i), count: kvDimension)
                    value(layer: l, cell: out).update(from: value(layer: l, cell: i), count: kvDimension)
                }
            }
            out += 1
        }
        count = out
    }

    func copy(from src: SequenceCells, count n: Int) {
        positions.update(from: src.positions, count: n)
        for l in 0..<layers {
            key(layer: l, cell: 0).update(from: src.key(layer: l, cell: 0), count: n * kvDimension)
            value(layer: l, cell: 0).update(from: src.value(layer: l, cell: 0), count: n * kvDimension)
        }
        count = n
    }
}
