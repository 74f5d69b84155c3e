/// Dequantizers for the non-linear 4-bit formats IQ4_NL and IQ4_XS, whose nibbles index a
/// fixed table of 16 signed levels instead of being used as integers.
enum IQ4Formats {
    /// The 16 levels shared by IQ4_NL and IQ4_XS (a public constant of the format).
    static let levels: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    // IQ4_NL: [d][16 nibbles], 32 elements; y = d·levels[q]
    static func iq4_nl(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        levels.withUnsafeBufferPointer { kv in
            for b in 0..<blocks {
                let p = src + b * 18, y = dst + b * 32
                let d = loadF16(p, 0)
                for j in 0..<16 {
                    let byte = loadByte(p, 2 + j)
                    y[j] = d * Float(kv[Int(byte & 0xF)])
                    y[j + 16] = d * Float(kv[Int(byte >> 4)])
                }
            }
        }
    }

    // IQ4_XS: [d][scales_h u16][scales_l 4][qs 128], 256 elements in 8 sub-blocks of 32;
    // y = (d·(s − 32))·levels[q], s 6 bits: 4 from scales_l, 2 from scales_h
    static func iq4_xs(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        levels.withUnsafeBufferPointer { kv in
            for b in 0..<blocks {
                let p = src + b * 136, y = dst + b * 256
                let d = loadF16(p, 0)
                let scalesHigh = p.loadUnaligned(fromByteOffset: 2, as: UInt16.self).littleEndian
                for sub in 0..<8 {
                    let low = (loadByte(p, 4 + sub / 2) >> UInt8(4 * (sub % 2))) & 0xF
                    let high = UInt8((scalesHigh >> UInt16(2 * sub)) & 3)
                    let s = Int8(bitPattern: low | high << 4) &- 32
                    let dl = d * Float(s)
                    for j in 0..<16 {
                        let byte = loadByte(p, 8 + sub * 16 + j)
                        y[sub * 32 + j] = dl * Float(kv[Int(byte & 0xF)])
                        y[sub * 32 + j + 16] = dl * Float(kv[Int(byte >> 4)])
                    }
                }
            }
        }
    }
}
