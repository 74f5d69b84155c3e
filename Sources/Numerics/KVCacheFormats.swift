import GGUF

/// The formats a KV cache may keep keys and values in (`-ctk`/`-ctv`: f16, q8_0, q4_0), and the
/// conversion of a computed f32 row into them, done as llama.cpp stores rows into a cache of that
/// type (so llama.cpp numerics stay comparable): f16 rounds to nearest even, q8_0 is the Q8_0
/// activation quantizer, q4_0 is ggml's reference Q4_0 quantizer.
public enum KVCacheFormats {
    /// The formats, in the order they are listed to users.
    public static let supported: [GGMLType] = [.f16, .q8_0, .q4_0]

    /// The format named `name` as llama.cpp spells it (`f16`, `q8_0`, `q4_0`; any case).
    public static func named(_ name: String) -> GGMLType? {
        supported.first { $0.name.lowercased() == name.lowercased() }
    }

    /// The names of `supported`, for messages.
    public static var names: String { supported.map { $0.name.lowercased() }.joined(separator: ", ") }

    /// Whether rows of `count` values (one head, or all KV heads) split into whole blocks of `type`.
    public static func fits(_ type: GGMLType, count: Int) -> Bool { count % type.blockSize == 0 }

    /// Bytes one row of `count` values takes in `type` (`count` a multiple of its block size).
    public static func rowBytes(_ type: GGMLType, count: Int) -> Int { count / type.blockSize * type.typeSize }

    /// The Walsh–Hadamard rotation size for keys or values kept in `type`, 0 for none. As llama.cpp
    /// does for a quantized cache, queries and keys are rotated blockwise (the largest power of two
    /// from 64 up that divides the head) before the keys are quantized, and values in blocks of 64
    /// with the attention output rotated back: rotations keep q·k and Σ p·v exact in real
    /// arithmetic but spread outlier channels over the block, so quantizing loses less
    /// (perplexity 13.92 → 13.89 with q8_0 on the test model, 16.25 → 15.72 with q4_0).
    public static func rotation(for type: GGMLType, headDimension hd: Int, keys: Bool) -> Int {
        guard type != .f16, type != .f32, hd % 64 == 0 else { return 0 }
        guard keys else { return 64 }
        var n = 64
        while hd % (2 * n) == 0 { n *= 2 }
        return n
    }

    /// Rotates each block of `n` values of `x` (`count` a multiple of `n`, a power of two) by the
    /// orthonormal Sylvester–Hadamard matrix, in place: x ← x·(1/√n) (one f32 product), then the
    /// butterflies (u, v) → (u + v, u − v) for spans 1, 2, 4, … n/2, in ggml's order (its fast
    /// transform; the matrix is its own inverse).
    public static func hadamard(_ x: UnsafeMutablePointer<Float>, count: Int, block n: Int) {
        let scale = 1 / Float(n).squareRoot()
        for b in Swift.stride(from: 0, to: count, by: n) {
            let p = x + b
            for j in 0..<n { p[j] *= scale }
            var span = 1
            while span < n {
                for i in Swift.stride(from: 0, to: n, by: 2 * span) {
                    for j in i..<i + span {
                        let u = p[j], v = p[j + span]
                        p[j] = u + v
                        p[j + span] = u - v
                    }
                }
                span *= 2
            }
        }
    }

    /// Stores `count` floats of `x` in `type` at `out`. Every path gives the same bytes.
    public static func store(_ x: UnsafePointer<Float>, count: Int, as type: GGMLType, into out: UnsafeMutableRawPointer,
                             path: KernelPath = .portable) {
        switch type {
        case .q8_0: ActivationQuantization.quantize(x, count: count, format: .q8_0, into: out, path: path)
        case .q4_0: q4_0(x, count: count, into: out)
        default:
            VectorMath.toF16(x, count: count, into: out.bindMemory(to: Float16.self, capacity: count), path: path)
        }
    }

    // Q4_0 as ggml's quantize_row_q4_0_ref: m = the element of largest magnitude (the first one),
    // d = m/−8 (stored f16), q = min(15, trunc(x·(1/d) + 8.5)); element j in the low nibble of
    // byte j, element j + 16 in its high nibble. Scalar on every path: only new rows are stored.
    static func q4_0(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer) {
        for b in 0..<count / 32 {
            let xb = x + b * 32, p = out + b * 18
            var amax: Float = 0, extreme: Float = 0
            for j in 0..<32 where amax < abs(xb[j]) {
                amax = abs(xb[j])
                extreme = xb[j]
            }
            let d = extreme / -8
            let id: Float = d != 0 ? 1 / d : 0
            p.storeBytes(of: Float16(d).bitPattern.littleEndian, as: UInt16.self)
            for j in 0..<16 {
                let lo = level(xb[j] * id), hi = level(xb[j + 16] * id)
                p.storeBytes(of: lo | hi << 4, toByteOffset: 2 + j, as: UInt8.self)
            }
        }
    }

    // min(15, (int8)(v + 8.5)): v·id lies in [−8, 8] up to rounding, so the sum is in [0.5, 16.5]
    // and the conversion never overflows; NaN input (a broken model) maps to 0 instead of trapping.
    @inline(__always) static func level(_ v: Float) -> UInt8 {
        let t = v + 8.5
        guard t.isFinite, t > -128, t < 128 else { return 0 }
        return UInt8(clamping: min(15, max(0, Int(t))))
    }
}
