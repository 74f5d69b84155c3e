import CNumerics

/// Which float order a matrix product uses for one activation row.
///
/// The empty set is the one order of Cria's invariant numerics (llama.cpp's vec_dot/gemv order,
/// except Q5_0's per-block totals): a row's results then never depend on the rows around it. The
/// members are llama.cpp's orders, which its llama.cpp-exact numerics reproduce.
public struct RowOrder: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// llama.cpp's tiled K-quant matmul, which it uses for Q5_K and Q6_K rows of a sequence's
    /// micro-batch group of 8 rows or more.
    public static let tiledKQuant = RowOrder(rawValue: UInt8(CN_ORDER_TILED_KQUANT))
    /// llama.cpp's repacked Q4_K gemm, which it uses for the first multiple of 4 rows of a group
    /// of 4 or more.
    public static let repackedQ4K = RowOrder(rawValue: UInt8(CN_ORDER_REPACKED_Q4K))
    /// A row of a group of 2 or more: llama.cpp's f32/f16 products take its sgemm there
    /// (`LlamaFloatProducts`; LoRA adapters). Not read by the C kernels.
    public static let multiRow = RowOrder(rawValue: 1 << 7)
    /// llama.cpp's eight-lane order for Q5_0 (its x86 vec_dot and gemm, for every row): invariant
    /// numerics sum each block's 32 products first, which halves the vector multiplies of a
    /// prompt's Q5_0 products (`QuantizedDot.q5_0Totals`).
    public static let q0Lanes = RowOrder(rawValue: UInt8(CN_ORDER_Q0_LANES))
}
