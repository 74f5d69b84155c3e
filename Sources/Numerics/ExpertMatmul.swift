import CNumerics
import GGUF

/// A 3-D tensor of expert matrices (GGUF shape [columns, rows, experts], e.g. `ffn_up_exps`):
/// `count` matrices of `rows × columns` stored one after another, viewed in place.
public struct ExpertWeights: @unchecked Sendable {
    public let type: GGMLType
    public let count: Int
    public let rows: Int
    public let columns: Int
    public let data: UnsafeRawPointer
    /// All experts' rows repacked (`PackedWeights.pack`), or nil.
    public internal(set) var packed: UnsafeRawPointer?

    public init(type: GGMLType, count: Int, rows: Int, columns: Int, data: UnsafeRawPointer) {
        self.type = type
        self.count = count
        self.rows = rows
        self.columns = columns
        self.data = data
    }

    /// Views a GGUF tensor of shape [columns, rows, experts].
    public init(_ info: GGUFTensorInfo, in file: GGUFFile) throws {
        guard info.shape.count == 3 else { throw NumericsError.unsupportedTensorType(tensor: info.name, type: info.type.name) }
        do { try Dequantize.validate(info.type, count: info.shape[0]) } catch {
            throw NumericsError.unsupportedTensorType(tensor: info.name, type: info.type.name)
        }
        let bytes = file.data(for: info)
        self.init(type: info.type, count: info.shape[2], rows: info.shape[1], columns: info.shape[0],
                  data: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!)
    }

    /// Bytes of one expert's matrix.
    public var expertBytes: Int { rows * (columns / type.blockSize * type.typeSize) }

    /// Expert `e`'s matrix, in place.
    public func expert(_ e: Int) -> WeightMatrix {
        precondition(e >= 0 && e < count, "expert \(e) of \(count)")
        var m = WeightMatrix(type: type, rows: rows, columns: columns, data: data + e * expertBytes)
        if let packed {  // rows is a whole number of groups when packed
            m.packed = packed + e * (rows / PackedWeights.groupRows) * PackedWeights.groupBytes(type, columns: columns)
        }
        return m
    }
}

extension Matmul {
    /// Where an expert product's activation rows come from.
    public enum ExpertInput {
        /// One row per token (`tokens × columns`), used by every pair of that token (gate, up).
        case perToken(UnsafePointer<Float>)
        /// One row per pair, already in the grouping's order (`pairCount × columns`): down.
        case grouped(UnsafePointer<Float>)
    }

    // y[g][m] = Σ_k E_e[m][k]·x[g][k]   for every grouped pair g (of expert e), m < E.rows
    //
    // Each expert's weights are read once for all pairs routed to it: the grouped activation rows
    // of an expert are contiguous, so one tile kernel call covers them. Work is split over
    // (expert, weight row) for all products together, one parallel region. Every y element is the
    // same instruction sequence as in `multiply` with one activation row, whatever the other pairs
    // (the kernels are batch-invariant), so a token's result does not depend on which tokens
    // share its experts. llama.cpp's mul_mat_id takes the vec_dot order for every row: this
    // order with `order` .q0Lanes (llama.cpp numerics), the invariant one without.
    //
    // Outputs are in the grouping's order (`pairCount × rows` each).
    public static func multiplyExperts(_ products: [(ExpertWeights, UnsafeMutablePointer<Float>)], input: ExpertInput,
                                       grouping g: ExpertGrouping, scratch: ExpertMatmulScratch, pool: ComputePool,
                                       path: KernelPath = KernelDispatch.current, order: RowOrder = []) {
        guard g.pairCount > 0, let first = products.first else { return }
        let k = first.0.columns
        precondition(products.allSatisfy { $0.0.columns == k && $0.0.type == first.0.type })
        guard let format = ActivationQuantization.format(for: first.0.type) else {
            multiplyExpertsFloat(products, input: input, grouping: g, scratch: scratch, pool: pool, path: path)
            return
        }
        let rowBytes = ActivationQuantization.rowBytes(format, count: k)
        let grouped = scratch.quantized(bytes: rowBytes * g.pairCount)
        switch input {
        case .grouped(let x):
            pool.parallelFor(g.pairCount, minimumChunk: 8) { r in
                for i in r { ActivationQuantization.quantize(x + i * k, count: k, format: format, into: grouped + i * rowBytes, path: path) }
            }
        case .perToken(let x):
            // each token once, then copied to its pairs' grouped places
            let tokens = scratch.tokenRows(bytes: rowBytes * g.tokens)
            pool.parallelFor(g.tokens, minimumChunk: 8) { r in
                for t in r { ActivationQuantization.quantize(x + t * k, count: k, format: format, into: tokens + t * rowBytes, path: path) }
            }
            g.pairs.withUnsafeBufferPointer { pairs in
                for i in 0..<g.pairCount {
                    (grouped + i * rowBytes).copyMemory(from: tokens + Int(pairs[i]) / g.slots * rowBytes, byteCount: rowBytes)
                }
            }
        }
        // work items: (used expert, product, weight row), flattened
        let perExpert = products.reduce(0) { $0 + $1.0.rows }
        let granule = products.contains { $0.0.packed != nil } ? PackedWeights.groupRows : 1
        let rowOrders = [RowOrder](repeating: order, count: order.isEmpty ? 0 : g.pairCount)
        rowOrders.withUnsafeBufferPointer { orders in
            pool.parallelFor(g.experts.count * perExpert, minimumChunk: 16, granule: granule) { range in
                var item = range.lowerBound
                while item < range.upperBound {
                    let slot = item / perExpert, e = Int(g.experts[slot])
                    let lo = g.starts[slot], count = g.starts[slot + 1] - lo
                    let from = item - slot * perExpert, to = min(perExpert, range.upperBound - slot * perExpert)
                    var start = 0
                    for (w, y) in products {
                        let a = max(from, start), b = min(to, start + w.rows)
                        if a < b {
                            multiplyRows(w.expert(e), (a - start)..<(b - start), UnsafeRawPointer(grouped + lo * rowBytes),
                                         batch: count, activationFormat: format, into: y + lo * w.rows, path: path,
                                         orders: order.isEmpty ? nil : orders.baseAddress.map { $0 + lo })
                        }
                        start += w.rows
                    }
                    item = slot * perExpert + to
                }
            }
        }
    }

    /// Float expert weights (F32, F16, BF16): each expert's grouped rows through `multiplyFloat`.
    static func multiplyExpertsFloat(_ products: [(ExpertWeights, UnsafeMutablePointer<Float>)], input: ExpertInput,
                                     grouping g: ExpertGrouping, scratch: ExpertMatmulScratch, pool: ComputePool,
                                     path: KernelPath) {
        let k = products[0].0.columns
        let x: UnsafePointer<Float>
        switch input {
        case .grouped(let p): x = p
        case .perToken(let p):
            let rows = scratch.quantized(bytes: g.pairCount * k * 4).assumingMemoryBound(to: Float.self)
            for i in 0..<g.pairCount { (rows + i * k).update(from: p + Int(g.pairs[i]) / g.slots * k, count: k) }
            x = UnsafePointer(rows)
        }
        for (slot, e) in g.experts.enumerated() {
            let lo = g.starts[slot], count = g.starts[slot + 1] - lo
            for (w, y) in products {
                multiplyFloat(w.expert(Int(e)), x + lo * k, batch: count, into: y + lo * w.rows, pool: pool, path: path)
            }
        }
    }
}

/// Reusable buffers of `Matmul.multiplyExperts` (grown, never shrunk), one per model.
public final class ExpertMatmulScratch: @unchecked Sendable {
    private var buffers: [UnsafeMutableRawPointer?] = [nil, nil]
    private var sizes = [0, 0]

    public init() {}

    deinit { for b in buffers { b?.deallocate() } }

    private func buffer(_ i: Int, bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > sizes[i] || buffers[i] == nil {
            buffers[i]?.deallocate()
            sizes[i] = max(bytes, 4096)
            buffers[i] = .allocate(byteCount: sizes[i], alignment: 64)
        }
        return buffers[i]!
    }

    /// Activation rows in the grouping's order.
    func quantized(bytes: Int) -> UnsafeMutableRawPointer { buffer(0, bytes: bytes) }
    /// Quantized token rows before they are copied to their pairs.
    func tokenRows(bytes: Int) -> UnsafeMutableRawPointer { buffer(1, bytes: bytes) }
}
