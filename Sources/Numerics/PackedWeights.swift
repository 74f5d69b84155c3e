import CNumerics
import GGUF

/// Load-time copies of weight matrices in the layout of a faster kernel, owned for as long as
/// the model that uses them.
///
/// Ten layouts, all with rows interleaved in groups of 16 so the AVX-512 and AVX2 paths multiply
/// one row per vector lane (AVX2: half a group per pass) instead of a horizontal sum per row and
/// block: Q4_K (`packed_q4k.c`, used for every batch size), Q5_K (`packed_q4k.c`: Q4_K's layout plus
/// bit slices of the fifth bits) and Q6_K (`packed_q6k.c`) (every batch size except rows in
/// llama.cpp's tiled K-quant order), IQ4_XS (`packed_iq4xs.c`), MXFP4 (`packed_q0.c`), Q3_K
/// (`packed_q3k.c`) and Q2_K (`packed_q2k.c`) (every batch size on AVX-512, up to `smallBatchLimit`
/// rows on AVX2), Q5_0 (`packed_q0.c`, every batch size in invariant numerics' block-total order, up
/// to `smallBatchLimit` rows in llama.cpp's eight-lane order), Q8_0 and Q4_0 (`packed_q0.c`, every
/// batch size, except Q4_0 prompts on AVX2, which keep the stored blocked kernel). Every copy keeps
/// every stored bit in no more bytes (a row can be rebuilt from it, `cn_packed_stored_row`), so it
/// replaces the stored rows in memory. The packed products give the stored products' bits for
/// every row in the default order, so packing changes speed, never results. Rows past the last
/// whole group stay with the stored kernel.
public final class PackedWeights: @unchecked Sendable {
    /// Rows per packed group.
    public static let groupRows = 16
    /// Activation rows up to which a packed Q5_0 matrix in llama.cpp's lane order (and Q4_0, IQ4_XS, MXFP4, Q3_K and Q2_K on AVX2) uses its packed copy.
    public static let smallBatchLimit = 4

    /// Bytes of `rows / 16` packed groups of `type` rows with `columns` elements each.
    static func bytes(_ type: GGMLType, rows: Int, columns: Int) -> Int {
        cn_packed_bytes(Int32(type.rawValue), Int32(rows), Int32(columns / type.blockSize))
    }

    /// Bytes of one packed group of `type` rows with `columns` elements each.
    public static func groupBytes(_ type: GGMLType, columns: Int) -> Int {
        bytes(type, rows: groupRows, columns: columns)
    }

    /// Whether `path` has a packed kernel for weights of `type`.
    public static func supports(_ type: GGMLType, path: KernelPath) -> Bool {
        switch type {
        case .q4_K, .q5_K, .iq4_xs, .mxfp4, .q3_K, .q2_K, .q5_0, .q8_0, .q4_0, .q6_K: return path == .avx512 || path == .avx2
        default: return false
        }
    }

    /// Whether a product of `batch` activation rows with a packed `type` matrix reads the copy,
    /// given the rows' orders: rows in one of llama.cpp's batch-dependent orders for this type
    /// take the stored kernel, which has them.
    static func uses(_ type: GGMLType, batch: Int, orders: UnsafePointer<RowOrder>?, path: KernelPath) -> Bool {
        let stored: RowOrder
        switch type {
        // one order at every batch size; for many rows the packed kernels beat the stored blocked
        // ones (one thread, 2048 × 256 against 16 rows, Zen 4: Q8_0 90 vs 60 GMAC/s, AVX2 1.6×;
        // Q4_0 95 vs 47 on AVX-512, 0.84× on AVX2)
        case .q8_0: return true
        // AVX2's blocked stored kernels beat these copies for prompts (IQ4_XS, Llama-1B shape, Zen 4 on
        // the avx2 path: pp128 44 packed vs 65 stored; tg32 38 vs 35; MXFP4 one thread from L2, 2048 ×
        // 256: one row 12.7 vs 4.4 GB/s, four 3.4 vs 3.1; Q3_K_M Llama-1B shape tg64 43.5 vs 31.8, pp128 80 both;
        // Q2_K tg64 40.0 vs 34.7, pp128 65.5 both)
        case .q4_0, .iq4_xs, .mxfp4, .q3_K, .q2_K: return batch <= smallBatchLimit || path == .avx512
        case .q4_K: stored = .repackedQ4K
        case .q5_K, .q6_K: stored = .tiledKQuant
        case .q5_0:
            // one order for the whole batch (the kernel takes one); the block totals at any size
            let lanes = batch > 0 && (orders?[0].contains(.q0Lanes) ?? false)
            if let orders, (1..<max(batch, 1)).contains(where: { orders[$0].contains(.q0Lanes) != lanes }) { return false }
            return !lanes || batch <= smallBatchLimit
        default: return batch <= smallBatchLimit
        }
        guard let orders else { return true }
        return !(0..<batch).contains { orders[$0].contains(stored) }
    }

    /// Where the copies live: huge pages, because a decode step streams them all.
    private let arena = HugePageArena()
    private var copies: [CopyKey: UnsafeMutableRawPointer] = [:]
    private struct CopyKey: Hashable {
        let data: UnsafeRawPointer
        let path: KernelPath
    }
    /// Bytes held by the packed copies (not counting stored rows moved by `moveStoredRows`).
    public private(set) var byteCount = 0

    public init() {}

    /// `w` with a packed copy attached when `path` has a packed kernel for its type and it has a
    /// whole group of rows; `w` unchanged otherwise. A matrix already packed here (a tied
    /// embedding and LM head) shares its copy. `pool` (optional) copies groups in parallel.
    /// `release` (optional) is called with each stretch of stored bytes as soon as it is copied,
    /// so the stored pages can leave memory while the copy grows (peak memory ≈ the copy, not the
    /// copy plus the matrix), then once with all of them (the pages a stretch boundary cut in
    /// two). Not thread-safe: call while loading.
    public func pack(_ w: WeightMatrix, path: KernelPath, pool: ComputePool? = nil,
                     release: ((UnsafeRawPointer, Int) -> Void)? = nil) -> WeightMatrix {
        guard w.packed == nil, Self.supports(w.type, path: path), w.rows >= Self.groupRows,
              w.columns % w.type.blockSize == 0 else { return w }
        var out = w
        if let copy = copies[CopyKey(data: w.data, path: path)] {
            out.packed = UnsafeRawPointer(copy)
            return out
        }
        let type = Int32(w.type.rawValue), blocks = Int32(w.columns / w.type.blockSize)
        let bytes = Self.bytes(w.type, rows: w.rows, columns: w.columns)
        let copy = arena.allocate(bytes: bytes)
        let groupBytes = Self.groupBytes(w.type, columns: w.columns)
        func packGroups(_ groups: Range<Int>) {
            let src = w.data + groups.lowerBound * Self.groupRows * w.rowBytes, dst = copy + groups.lowerBound * groupBytes
            cn_pack(type, src, w.rowBytes, Int32(groups.count * Self.groupRows), blocks, dst)
            release?(src, groups.count * Self.groupRows * w.rowBytes)
        }
        let groups = w.rows / Self.groupRows
        if let pool { pool.parallelFor(groups, minimumChunk: 4) { packGroups($0) } } else { packGroups(0..<groups) }
        release?(w.data, groups * Self.groupRows * w.rowBytes)
        copies[CopyKey(data: w.data, path: path)] = copy
        byteCount += bytes
        out.packed = UnsafeRawPointer(copy)
        return out
    }

    /// Every expert of `e` packed at once (their matrices are stored back to back, so one copy
    /// holds them all and expert `i` starts `i · rows/16` groups in).
    public func pack(_ e: ExpertWeights, path: KernelPath, pool: ComputePool? = nil,
                     release: ((UnsafeRawPointer, Int) -> Void)? = nil) -> ExpertWeights {
        guard e.packed == nil, Self.supports(e.type, path: path), e.rows % Self.groupRows == 0 else { return e }
        let all = pack(WeightMatrix(type: e.type, rows: e.rows * e.count, columns: e.columns, data: e.data), path: path, pool: pool,
                       release: release)
        var out = e
        out.packed = all.packed
        return out
    }

    /// `w` with its stored rows moved into huge pages (`HugePageArena`: the same bytes in the same
    /// layout, so every product and lookup gives the same bits), for a matrix that decode reads
    /// as stored (no packed copy). `release` (required: without it the
    /// rows would be held twice) lets the mapped pages go as each stretch is copied, as in `pack`.
    /// A matrix already moved (a tied embedding and LM head) shares its copy.
    public func moveStoredRows(_ w: WeightMatrix, pool: ComputePool? = nil,
                               release: (UnsafeRawPointer, Int) -> Void) -> WeightMatrix {
        let data = moveStoredBytes(w.data, count: w.rows * w.rowBytes, pool: pool, release: release)
        var out = WeightMatrix(type: w.type, rows: w.rows, columns: w.columns, data: data)
        out.packed = w.packed
        return out
    }

    /// Every expert of `e` moved as `moveStoredRows` moves a matrix.
    public func moveStoredRows(_ e: ExpertWeights, pool: ComputePool? = nil,
                               release: (UnsafeRawPointer, Int) -> Void) -> ExpertWeights {
        let data = moveStoredBytes(e.data, count: e.count * e.expertBytes, pool: pool, release: release)
        var out = ExpertWeights(type: e.type, count: e.count, rows: e.rows, columns: e.columns, data: data)
        out.packed = e.packed
        return out
    }

    private var moved: [UnsafeRawPointer: UnsafeRawPointer] = [:]

    private func moveStoredBytes(_ data: UnsafeRawPointer, count: Int, pool: ComputePool?,
                                 release: (UnsafeRawPointer, Int) -> Void) -> UnsafeRawPointer {
        if let copy = moved[data] { return copy }
        guard count > 0 else { return data }
        let copy = arena.allocate(bytes: count)
        let piece = 1 << 20
        let pieces = (count + piece - 1) / piece
        func copyPieces(_ range: Range<Int>) {
            let start = range.lowerBound * piece, end = min(count, range.upperBound * piece)
            copy.advanced(by: start).copyMemory(from: data + start, byteCount: end - start)
            release(data + start, end - start)
        }
        if let pool { pool.parallelFor(pieces, minimumChunk: 4) { copyPieces($0) } } else { copyPieces(0..<pieces) }
        release(data, count)
        moved[data] = UnsafeRawPointer(copy)
        return UnsafeRawPointer(copy)
    }

    /// y rows of groups `groups` of packed `w` (see `Matmul.multiplyRows`).
    /// `order`: every row's (`uses` has checked that they agree where the kernel reads it).
    static func multiply(_ w: WeightMatrix, groups: Range<Int>, _ a: UnsafeRawPointer, aStride: Int, batch: Int,
                         into y: UnsafeMutablePointer<Float>, yStride: Int, path: KernelPath, order: RowOrder) {
        guard let packed = w.packed else { return }
        let blocks = Int32(w.columns / w.type.blockSize)
        let start = packed + groups.lowerBound * groupBytes(w.type, columns: w.columns)
        let out = y + groups.lowerBound * groupRows
        cn_packed_matmul(path.rawValue, Int32(w.type.rawValue), blocks, start, Int32(groups.count), a, aStride, Int32(batch),
                         out, yStride, Int32(order.rawValue))
    }
}
