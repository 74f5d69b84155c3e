import GGUF

/// The lattice ("i-quant") formats IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S and IQ1_M:
/// 256-element super-blocks whose indices pick points of a fixed grid (IQGrids) for groups of
/// 8 or 4 elements, with separate sign bits (IQ2/IQ3) or a ±1/8 shift (IQ1) and small odd
/// scales 2s + 1 per 16 or 32 elements, all times an f16 super-block scale d.
///
/// Each format is described once, as an unpacker from a block to integers, and both the
/// dequantizer here and the dot product (QuantizedDot+IQuants) are built on it.
enum IQuantFormats {
    static let qk = 256

    /// One super-block unpacked to integers: writes `q[i]`, the signed grid value of element i
    /// (IQ1: 8·(g ± 1/8), so that it is an integer), and `s[j]`, the raw scale field of
    /// elements 16j..<16j+16; returns the super-block scale d as f32.
    typealias Unpack = (_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>, _ s: UnsafeMutablePointer<Int32>) -> Float

    /// How one lattice format is stored and scaled.
    struct Lattice {
        let blockBytes: Int
        let unpack: Unpack
        /// gguf-py's f32 scale of a group from d and its raw field (its operation order, so
        /// dequantization is bit-identical to it).
        let groupScale: (Float, Int32) -> Float
        /// 1, or 1/8 for IQ1 (whose unpacked q are eight times the value).
        let valueScale: Float
        /// Σ deq(w)·deq(a) = dotFactor · Σ_b d·d_a · Σ_j (2s_j + 1) · Σ_i q_i·q_a,i
        let dotFactor: Float
    }

    /// The formats this file describes.
    static let types: Set<GGMLType> = [.iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq1_s, .iq1_m]

    /// Runs `body` with the description of `type` (one of `types`); the grids stay bound for
    /// the call, so unpacking does no table look-up through an array.
    @inline(__always)
    static func withLattice<R>(_ type: GGMLType, _ body: (Lattice) -> R) -> R {
        IQGrids.ksigns.withUnsafeBufferPointer { ksignsBuffer in
            let ksigns = ksignsBuffer.baseAddress!
            switch type {
            case .iq2_xxs:
                return IQGrids.iq2xxs.withUnsafeBufferPointer { grid in
                    body(Lattice(blockBytes: 66, unpack: { iq2_xxs($0, $1, $2, grid.baseAddress!, ksigns) },
                                 groupScale: iq2Scale, valueScale: 1, dotFactor: 0.125))
                }
            case .iq2_xs:
                return IQGrids.iq2xs.withUnsafeBufferPointer { grid in
                    body(Lattice(blockBytes: 74, unpack: { iq2_xs($0, $1, $2, grid.baseAddress!, ksigns) },
                                 groupScale: iq2Scale, valueScale: 1, dotFactor: 0.125))
                }
            case .iq2_s:
                return IQGrids.iq2s.withUnsafeBufferPointer { grid in
                    body(Lattice(blockBytes: 82, unpack: { iq2_s($0, $1, $2, grid.baseAddress!) },
                                 groupScale: iq2Scale, valueScale: 1, dotFactor: 0.125))
                }
            case .iq3_xxs:
                return IQGrids.iq3xxs.withUnsafeBufferPointer { grid in
                    body(Lattice(blockBytes: 98, unpack: { iq3_xxs($0, $1, $2, grid.baseAddress!, ksigns) },
                                 groupScale: { d, s in d * (0.5 + Float(s)) * 0.5 }, valueScale: 1, dotFactor: 0.25))
                }
            case .iq3_s:
                return IQGrids.iq3s.withUnsafeBufferPointer { grid in
                    body(Lattice(blockBytes: 110, unpack: { iq3_s($0, $1, $2, grid.baseAddress!) },
                                 groupScale: oddScale, valueScale: 1, dotFactor: 1))
                }
            case .iq1_s:
                return IQGrids.iq1s.withUnsafeBufferPointer { grid in
                    body(Lattice(blockBytes: 50, unpack: { iq1_s($0, $1, $2, grid.baseAddress!) },
                                 groupScale: oddScale, valueScale: 0.125, dotFactor: 0.125))
                }
            default:
                precondition(type == .iq1_m, "\(type.name) is not a lattice format")
                return IQGrids.iq1s.withUnsafeBufferPointer { grid in
                    body(Lattice(blockBytes: 56, unpack: { iq1_m($0, $1, $2, grid.baseAddress!) },
                                 groupScale: oddScale, valueScale: 0.125, dotFactor: 0.125))
                }
            }
        }
    }

    // IQ2_*: d·(1/2 + s)·1/4 = d·(2s + 1)/8
    static func iq2Scale(_ d: Float, _ s: Int32) -> Float { d * (0.5 + Float(s)) * 0.25 }

    // IQ3_S, IQ1_*: d·(2s + 1)
    static func oddScale(_ d: Float, _ s: Int32) -> Float { d * Float(2 * s + 1) }

    // y = (d·scale(s_j))·(q·valueScale), per 16-element group j
    static func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        withLattice(type) { lattice in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: qk + 16) { buffer in
                let q = buffer.baseAddress!, s = q + qk
                for b in 0..<blocks {
                    let y = dst + b * qk
                    let d = lattice.unpack(src + b * lattice.blockBytes, q, s)
                    for group in 0..<16 {
                        let dl = lattice.groupScale(d, s[group])
                        for i in group * 16..<group * 16 + 16 { y[i] = dl * (Float(q[i]) * lattice.valueScale) }
                    }
                }
            }
        }
    }

    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ o: Int) -> Int32 { Int32(p.load(fromByteOffset: o, as: UInt8.self)) }

    @inline(__always) static func word32(_ p: UnsafeRawPointer, _ o: Int) -> UInt32 {
        p.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian
    }

    @inline(__always) static func word16(_ p: UnsafeRawPointer, _ o: Int) -> UInt16 {
        p.loadUnaligned(fromByteOffset: o, as: UInt16.self).littleEndian
    }

    /// Writes the 8 values of grid point `point`, element j negated where bit j of `signs` is set.
    @inline(__always)
    static func put8(_ point: UInt64, signs: UInt32, into q: UnsafeMutablePointer<Int32>) {
        for j in 0..<8 {
            let g = Int32(UInt8(truncatingIfNeeded: point >> UInt64(8 * j)))
            q[j] = (signs >> UInt32(j)) & 1 == 0 ? g : -g
        }
    }

    /// Two 4-bit scales per byte, low nibble first, each for 16 elements (IQ2_XS, IQ2_S).
    @inline(__always)
    static func nibbleScales(_ p: UnsafeRawPointer, at offset: Int, into s: UnsafeMutablePointer<Int32>) {
        for j in 0..<16 { s[j] = (byte(p, offset + j / 2) >> Int32(4 * (j % 2))) & 0xF }
    }

    // IQ2_XXS: [d][8 × (u32 grid indices, u32 signs)]: per 32 elements four 8-bit indices
    // into iq2xxs; the second word holds four 7-bit sign indices (ksigns) and s in its top 4 bits.
    static func iq2_xxs(_ p: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>, _ s: UnsafeMutablePointer<Int32>,
                        _ grid: UnsafePointer<UInt64>, _ ksigns: UnsafePointer<UInt8>) -> Float {
        for sub in 0..<8 {
            let indices = word32(p, 2 + 8 * sub), aux = word32(p, 6 + 8 * sub)
            s[2 * sub] = Int32(aux >> 28)
            s[2 * sub + 1] = Int32(aux >> 28)
            for l in 0..<4 {
                let point = grid[Int((indices >> UInt32(8 * l)) & 0xFF)]
                put8(point, signs: UInt32(ksigns[Int((aux >> UInt32(7 * l)) & 127)]), into: q + 32 * sub + 8 * l)
            }
        }
        return loadF16(p, 0)
    }

    // IQ2_XS: [d][32 × u16: 9-bit index into iq2xs | 7-bit sign index << 9][scales 8]
    static func iq2_xs(_ p: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>, _ s: UnsafeMutablePointer<Int32>,
                       _ grid: UnsafePointer<UInt64>, _ ksigns: UnsafePointer<UInt8>) -> Float {
        for k in 0..<32 {
            let v = word16(p, 2 + 2 * k)
            put8(grid[Int(v & 511)], signs: UInt32(ksigns[Int(v >> 9)]), into: q + 8 * k)
        }
        nibbleScales(p, at: 66, into: s)
        return loadF16(p, 0)
    }

    // IQ2_S: [d][qs 32][signs 32][qh 8][scales 8]: index k = qs[k] | 2 bits of qh[k/4] << 8
    // into iq2s; sign byte k holds the 8 sign bits of group k
    static func iq2_s(_ p: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>, _ s: UnsafeMutablePointer<Int32>,
                      _ grid: UnsafePointer<UInt64>) -> Float {
        for k in 0..<32 {
            let index = byte(p, 2 + k) | ((byte(p, 66 + k / 4) >> Int32(2 * (k % 4))) & 3) << 8
            put8(grid[Int(index)], signs: UInt32(byte(p, 34 + k)), into: q + 8 * k)
        }
        nibbleScales(p, at: 74, into: s)
        return loadF16(p, 0)
    }

    // IQ3_XXS: [d][qs 64][8 × u32]: qs[k] indexes iq3xxs for elements 4k..<4k+4; per 32 elements
    // a word of four 7-bit sign indices (one per 8 elements) and s in its top 4 bits
    static func iq3_xxs(_ p: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>, _ s: UnsafeMutablePointer<Int32>,
                        _ grid: UnsafePointer<UInt32>, _ ksigns: UnsafePointer<UInt8>) -> Float {
        for sub in 0..<8 {
            let aux = word32(p, 66 + 4 * sub)
            s[2 * sub] = Int32(aux >> 28)
            s[2 * sub + 1] = Int32(aux >> 28)
            for l in 0..<4 {
                let low = UInt64(grid[Int(byte(p, 2 + 8 * sub + 2 * l))])
                let high = UInt64(grid[Int(byte(p, 3 + 8 * sub + 2 * l))])
                put8(low | high << 32, signs: UInt32(ksigns[Int((aux >> UInt32(7 * l)) & 127)]), into: q + 32 * sub + 8 * l)
            }
        }
        return loadF16(p, 0)
    }

    // IQ3_S: [d][qs 64][qh 8][signs 32][scales 4]: index k = qs[k] | bit k of qh << 8 into iq3s
    // for elements 4k..<4k+4; one sign bit per element; one 4-bit scale per 32 elements
    static func iq3_s(_ p: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>, _ s: UnsafeMutablePointer<Int32>,
                      _ grid: UnsafePointer<UInt32>) -> Float {
        for k in 0..<32 {
            let i0 = 2 * k, i1 = 2 * k + 1
            let low = UInt64(grid[Int(byte(p, 2 + i0) | ((byte(p, 66 + i0 / 8) >> Int32(i0 % 8)) & 1) << 8)])
            let high = UInt64(grid[Int(byte(p, 2 + i1) | ((byte(p, 66 + i1 / 8) >> Int32(i1 % 8)) & 1) << 8)])
            put8(low | high << 32, signs: UInt32(byte(p, 74 + k)), into: q + 8 * k)
        }
        for j in 0..<16 { s[j] = (byte(p, 106 + j / 4) >> Int32(4 * ((j / 2) % 2))) & 0xF }
        return loadF16(p, 0)
    }

    /// Writes 8·g + δ for the 8 values g of IQ1 grid point `point` (bytes −1, 0, 1), δ = ±1.
    @inline(__always)
    static func putIQ1(_ point: UInt64, delta: Int32, into q: UnsafeMutablePointer<Int32>) {
        for j in 0..<8 { q[j] = 8 * Int32(Int8(truncatingIfNeeded: point >> UInt64(8 * j))) + delta }
    }

    // IQ1_S: [d][qs 32][8 × u16 qh]: per 32 elements, qh holds four 3-bit high index bits,
    // s in bits 12–14 and the sign of the shift δ = ±1/8 in bit 15; index = qs | bits << 8 into iq1s
    static func iq1_s(_ p: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>, _ s: UnsafeMutablePointer<Int32>,
                      _ grid: UnsafePointer<UInt64>) -> Float {
        for sub in 0..<8 {
            let h = Int32(word16(p, 34 + 2 * sub))
            s[2 * sub] = (h >> 12) & 7
            s[2 * sub + 1] = (h >> 12) & 7
            let delta: Int32 = h & 0x8000 == 0 ? 1 : -1
            for l in 0..<4 {
                let index = byte(p, 2 + 4 * sub + l) | ((h >> Int32(3 * l)) & 7) << 8
                putIQ1(grid[Int(index)], delta: delta, into: q + 32 * sub + 8 * l)
            }
        }
        return loadF16(p, 0)
    }

    // IQ1_M: [qs 32][qh 16][4 × u16 scales]: per 8 elements a nibble of qh (low first) with 3
    // high index bits and the sign of δ in bit 3; twelve low bits of each scale word are four
    // 3-bit s (one per 16 elements); the f16 d is the four top nibbles, word 0's lowest
    static func iq1_m(_ p: UnsafeRawPointer, _ q: UnsafeMutablePointer<Int32>, _ s: UnsafeMutablePointer<Int32>,
                      _ grid: UnsafePointer<UInt64>) -> Float {
        for k in 0..<32 {
            let nibble = (byte(p, 32 + k / 2) >> Int32(4 * (k % 2))) & 0xF
            let index = byte(p, k) | (nibble & 7) << 8
            putIQ1(grid[Int(index)], delta: nibble & 8 == 0 ? 1 : -1, into: q + 8 * k)
        }
        var bits: UInt16 = 0
        for w in 0..<4 {
            let word = word16(p, 48 + 2 * w)
            bits |= (word & 0xF000) >> UInt16(12 - 4 * w)
            for f in 0..<4 { s[4 * w + f] = Int32((word >> UInt16(3 * f)) & 7) }
        }
        return Float(Float16(bitPattern: bits))
    }
}
