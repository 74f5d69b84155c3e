import CriaNumerics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
    /// Where the K and V rows of offloaded layers live (a device's memory); nil: all in host memory.
    let layerMemory: KVLayerMemory?

    /// `keyType`/`valueType` must be in `KVCacheFormats.supported` and split each head into whole
    /// blocks (`TransformerModel.makeCache` checks this against the model).
    public init(layerCount: Int, kvDimension: Int, capacity: Int, keyType: GGMLType = .f16, valueType: GGMLType = .f16,
                keyRotation: Int = 0, valueRotation: Int = 0, layerMemory: KVLayerMemory? = nil) {
        self.layerMemory = layerMemory
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

    /// Bytes the cells of one full sequence take (keys and values of every layer, and positions);
    /// Int.max when that does not fit in an Int (a `-c` no machine could hold).
    public var bytesPerSequence: Int { bytes(sequences: 1) ?? .max }

    /// Bytes of `sequences` full sequences, or nil when the count overflows an Int.
    public func bytes(sequences: Int) -> Int? {
        guard let rows = checkedProduct(layerCount, capacity, keyRowBytes + valueRowBytes),
              let positions = checkedProduct(capacity, MemoryLayout<Int32>.stride) else { return nil }
        let (one, overflow) = rows.addingReportingOverflow(positions)
        return overflow ? nil : checkedProduct(one, sequences)
    }

    /// The cells of `sequence`, created empty on first use (which fails only when an offloaded
    /// layer's device cannot hold them).
    func cells(_ sequence: Int) throws(ModelError) -> SequenceCells {
        if let s = sequences[sequence] { return s }
        let s = try SequenceCells(layers: layerCount, capacity: capacity, keyRowBytes: keyRowBytes,
                                  valueRowBytes: valueRowBytes, memory: layerMemory)
        sequences[sequence] = s
        return s
    }

    /// The cells of `sequence` if it has any.
    func existingCells(_ sequence: Int) -> SequenceCells? { sequences[sequence] }

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
    public func copyPrefix(from source: Int, to destination: Int, end: Int32) throws(ModelError) {
        guard source != destination else { return }
        let dst = try cells(destination)
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

/// Memory for the K or V rows of one layer of one sequence outside host memory: a device's
/// buffer, mapped into the address space, where that layer runs on the device (-ngl). The
/// owner is kept alive with the sequence; the host reads and writes the rows (cache edits, slot
/// files) through `address`, the device through the owner.
public protocol KVLayerMemory: AnyObject, Sendable {
    /// Whether `layer`'s rows live in this memory.
    func holds(layer: Int) -> Bool
    /// A zero-filled allocation of `bytes` for `layer`, or a message saying why there is none.
    func allocate(layer: Int, bytes: Int) -> Result<(owner: AnyObject, address: UnsafeMutableRawPointer), ModelError>
}

/// The storage of one sequence: positions plus K and V rows for every layer, each layer's
/// cells contiguous ([layer][cell][row bytes]) so attention reads them in one run; a layer's
/// block sits in host memory or, when offloaded, in its device's memory (`KVLayerMemory`).
final class SequenceCells {
    let layers: Int, capacity: Int, keyRowBytes: Int, valueRowBytes: Int
    var count = 0
    let positions: UnsafeMutablePointer<Int32>
    /// Each layer's first key and value row.
    private let keyBases: [UnsafeMutableRawPointer], valueBases: [UnsafeMutableRawPointer]
    /// The host blocks this object frees, and the device allocations it keeps alive.
    private let hostBlocks: [UnsafeMutableRawPointer]
    private(set) var deviceOwners: [Int: (key: AnyObject, value: AnyObject)] = [:]

    init(layers: Int, capacity: Int, keyRowBytes: Int, valueRowBytes: Int, memory: KVLayerMemory? = nil) throws(ModelError) {
        self.layers = layers
        self.capacity = capacity
        self.keyRowBytes = keyRowBytes
        self.valueRowBytes = valueRowBytes
        var keys: [UnsafeMutableRawPointer] = [], values: [UnsafeMutableRawPointer] = []
        var host: [UnsafeMutableRawPointer] = []
        var owners: [Int: (key: AnyObject, value: AnyObject)] = [:]
        let hostLayers = (0..<layers).filter { !(memory?.holds(layer: $0) ?? false) }
        if !hostLayers.isEmpty {
            // Allocated here, on a sequence's first use, so a failure is an error for that request
            // rather than the trap of a Swift allocation.
            guard let k = Self.allocate(hostLayers.count, capacity, keyRowBytes) else {
                throw .cacheTooLarge("the keys of \(capacity) tokens could not be allocated")
            }
            guard let v = Self.allocate(hostLayers.count, capacity, valueRowBytes) else {
                free(k)
                throw .cacheTooLarge("the values of \(capacity) tokens could not be allocated")
            }
            host = [k, v]
        }
        var hostIndex = 0
        var failure: ModelError?
        for l in 0..<layers {
            if let memory, memory.holds(layer: l) {
                switch (memory.allocate(layer: l, bytes: capacity * keyRowBytes), memory.allocate(layer: l, bytes: capacity * valueRowBytes)) {
                case let (.success(k), .success(v)):
                    keys.append(k.address)
                    values.append(v.address)
                    owners[l] = (k.owner, v.owner)
                case let (.failure(e), _), let (_, .failure(e)):
                    failure = e
                }
                if failure != nil { break }
            } else {
                keys.append(host[0] + hostIndex * capacity * keyRowBytes)
                values.append(host[1] + hostIndex * capacity * valueRowBytes)
                hostIndex += 1
            }
        }
        if let failure {
            for block in host { free(block) }
            throw failure
        }
        guard let cellPositions = Self.allocate(capacity, MemoryLayout<Int32>.stride) else {
            for block in host { free(block) }
            throw .cacheTooLarge("the positions of \(capacity) tokens could not be allocated")
        }
        positions = cellPositions.bindMemory(to: Int32.self, capacity: capacity)
        keyBases = keys
        valueBases = values
        hostBlocks = host
        deviceOwners = owners
    }

    deinit {
        free(positions)
        for block in hostBlocks { free(block) }
    }

    /// 64-byte-aligned memory for the product of `factors` bytes; nil on overflow or when the
    /// system refuses.
    private static func allocate(_ a: Int, _ b: Int, _ c: Int = 1) -> UnsafeMutableRawPointer? {
        guard let bytes = checkedProduct(a, b, c) else { return nil }
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, 64, max(bytes, 64)) == 0 else { return nil }
        return pointer
    }

    @inline(__always) func key(layer: Int, cell: Int) -> UnsafeMutableRawPointer {
        keyBases[layer] + cell * keyRowBytes
    }

    @inline(__always) func value(layer: Int, cell: Int) -> UnsafeMutableRawPointer {
        valueBases[layer] + cell * valueRowBytes
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

/// The product of non-negative `factors`, or nil when one is negative or the product overflows.
private func checkedProduct(_ factors: Int...) -> Int? {
    var total = 1
    for f in factors {
        let (p, overflow) = total.multipliedReportingOverflow(by: f)
        if overflow || f < 0 { return nil }
        total = p
    }
    return total
}
