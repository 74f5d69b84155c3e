import CNumerics
import GGUF

/// Load-time copies of weight matrices in the layout of a faster kernel, owned for as long as
/// the model that uses them.
///
/// Today one layout: Q4_K rows interleaved in groups of 16 (`packed_q4k.c`), which the AVX-512
/// path multiplies with one row per vector lane instead of a horizontal sum per row and block.
/// The packed product gives the stored product's bits for every row in the default order, so
/// packing changes speed, never results. Rows past the last whole group stay with the stored
/// kernel.
public final class PackedWeights: @unchecked Sendable {
    /// Rows per packed group.
    public static let groupRows = 16

    /// Bytes of one packed group of Q4_K rows with `columns` elements each.
    public static func groupBytes(columns: Int) -> Int {
        cn_q4k_packed_bytes(Int32(groupRows), Int32(columns / 256))
    }

    /// Whether `path` has a packed kernel for weights of `type`.
    public static func supports(_ type: GGMLType, path: KernelPath) -> Bool {
        type == .q4_K && path == .avx512
    }

    private var copies: [UnsafeRawPointer: UnsafeMutableRawPointer] = [:]
    /// Bytes held by the packed copies.
    public private(set) var byteCount = 0

    public init() {}

    deinit {
        for copy in copies.values { copy.deallocate() }
    }

    /// `w` with a packed copy attached when `path` has a packed kernel for its type and it has a
    /// whole group of rows; `w` unchanged otherwise. A matrix already packed here (a tied
    /// embedding and LM head) shares its copy. Not thread-safe: call while loading.
    public func pack(_ w: WeightMatrix, path: KernelPath) -> WeightMatrix {
        guard w.packed == nil, Self.supports(w.type, path: path), w.rows >= Self.groupRows, w.columns % 256 == 0 else { return w }
        var out = w
        if let copy = copies[w.data] {
            out.packed = UnsafeRawPointer(copy)
            return out
        }
        let bytes = cn_q4k_packed_bytes(Int32(w.rows), Int32(w.columns / 256))
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        cn_q4k_pack(w.data, w.rowBytes, Int32(w.rows), Int32(w.columns / 256), copy)
        copies[w.data] = copy
        byteCount += bytes
        out.packed = UnsafeRawPointer(copy)
        return out
    }

    /// Every expert of `e` packed at once (their matrices are stored back to back, so one copy
    /// holds them all and expert `i` starts `i · rows/16` groups in).
    public func pack(_ e: ExpertWeights, path: KernelPath) -> ExpertWeights {
        guard e.packed == nil, Self.supports(e.type, path: path), e.rows % Self.groupRows == 0, e.columns % 256 == 0 else { return e }
        let all = pack(WeightMatrix(type: e.type, rows: e.rows * e.count, columns: e.columns, data: e.data), path: path)
        var out = e
        out.packed = all.packed
        return out
    }
}
