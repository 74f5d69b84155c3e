import GGUF

/// Dot products of the lattice formats (IQ2_XXS … IQ1_M) and the ternary formats (TQ1_0,
/// TQ2_0) against Q8_K activations, on the same unpackers as their dequantizers.
extension QuantizedDot {
    // Σ_b d·d_a·Σ_j (2s_j + 1)·Σ q·q_a, times the format's factor (1/8, 1/4 or 1).
    // Order (as ggml's generic C reference for IQ2/IQ3): the integer sum of a super-block is
    // exact, then sum += (d·d_a)·isum block after block in f32, and the factor is applied last.
    // IQ1 folds its ±1/8 shift into the integers (q = 8·g ± 1), where ggml adds
    // 0.125·Σ δ·bsum in float, so IQ1 sums round differently from llama.cpp's.
    static func lattice(_ type: GGMLType, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        IQuantFormats.withLattice(type) { lattice in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 256 + 16) { buffer in
                let q = buffer.baseAddress!, s = q + 256
                var sum: Float = 0
                for b in 0..<blocks {
                    let ab = a + b * 292
                    let d = lattice.unpack(w + b * lattice.blockBytes, q, s)
                    var isum: Int32 = 0
                    for group in 0..<16 {
                        var t: Int32 = 0
                        for i in group * 16..<group * 16 + 16 { t += q[i] * i8(ab, 4 + i) }
                        isum += (2 * s[group] + 1) * t
                    }
                    sum += d * q8kScale(ab) * Float(isum)
                }
                return lattice.dotFactor * sum
            }
        }
    }

    // Σ_b Σ q·q_a·(d·d_a), q ∈ {−1, 0, 1}: ggml's generic order (exact integer sum per block,
    // then sum += isum·(d·d_a) in f32)
    static func ternary(_ type: GGMLType, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blocks: Int) -> Float {
        let unpack = TernaryFormats.unpacker(type), bytes = TernaryFormats.blockBytes(type)
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 256) { buffer in
            let q = buffer.baseAddress!
            var sum: Float = 0
            for b in 0..<blocks {
                let ab = a + b * 292
                let d = unpack(w + b * bytes, q)
                var isum: Int32 = 0
                for i in 0..<256 { isum += q[i] * i8(ab, 4 + i) }
                sum += Float(isum) * (d * q8kScale(ab))
            }
            return sum
        }
    }
}
