import GGUF

/// The ternary formats TQ1_0 and TQ2_0 (weights in {−1, 0, 1} times an f16 scale d per
/// 256 elements, as BitNet-style models store them).
///
/// Both are described as an unpacker to integers, shared by the dequantizer here and the dot
/// product (QuantizedDot+Ternary).
enum TernaryFormats {
    static let qk = 256

    /// Writes q[i] ∈ {−1, 0, 1} (TQ2_0 can also encode 2) for the 256 elements of a block and
    /// returns its scale d.
    typealias Unpack = (_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>) -> Float

    static func blockBytes(_ type: GGMLType) -> Int { type == .tq1_0 ? 54 : 66 }

    static func unpacker(_ type: GGMLType) -> Unpack {
        if type == GGMLType.tq1_0 { return { p, q in tq1_0(p, q) } }
        return { p, q in tq2_0(p, q) }
    }

    // y = d·q
    static func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        let unpack = unpacker(type), bytes = blockBytes(type)
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: qk) { buffer in
            let q = buffer.baseAddress!
            for b in 0..<blocks {
                let y = dst + b * qk
                let d = unpack(src + b * bytes, q)
                for i in 0..<qk { y[i] = d * Float(q[i]) }
            }
        }
    }

    /// The base-3 digit that byte `x` holds in its top position after multiplying by 3^k (mod
    /// 256): a byte stores up to 5 trits t as ⌈256·Σ t_k·3^(4−k) / 243⌉, so 3^k·x (mod 256)
    /// brings digit k to the top and (3·v) >> 8 reads it.
    @inline(__always)
    static func trit(_ x: UInt8, power: UInt8) -> Int32 {
        let v = x &* power
        return Int32((UInt16(v) * 3) >> 8) - 1
    }

    static let powers: [UInt8] = [1, 3, 9, 27, 81]

    // TQ1_0: [qs 48][qh 4][d]: qs[0..<32] give elements 32k + m (k < 5, byte m); qs[32..<48]
    // give 160 + 16k + m; qh[j] gives 240 + 4k + j (k < 4)
    static func tq1_0(_ p: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>) -> Float {
        for k in 0..<5 {
            let power = powers[k]
            for m in 0..<32 { q[32 * k + m] = trit(p.load(fromByteOffset: m, as: UInt8.self), power: power) }
            for m in 0..<16 { q[160 + 16 * k + m] = trit(p.load(fromByteOffset: 32 + m, as: UInt8.self), power: power) }
        }
        for k in 0..<4 {
            for j in 0..<4 { q[240 + 4 * k + j] = trit(p.load(fromByteOffset: 48 + j, as: UInt8.self), power: powers[k]) }
        }
        return loadF16(p, 52)
    }

    // TQ2_0: [qs 64][d]: 2-bit fields, q = field − 1; byte 32g + m holds elements 128g + 32k + m
    // in bits 2k, 2k+1
    static func tq2_0(_ p: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>) -> Float {
        for g in 0..<2 {
            for m in 0..<32 {
                let byte = Int32(p.load(fromByteOffset: 32 * g + m, as: UInt8.self))
                for k in 0..<4 { q[128 * g + 32 * k + m] = ((byte >> Int32(2 * k)) & 3) - 1 }
            }
        }
        return loadF16(p, 64)
    }
}
