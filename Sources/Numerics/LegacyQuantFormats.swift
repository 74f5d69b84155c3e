/// Dequantizers for the 32-element block formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
///
/// Layouts (bytes): Q4_0 [d f16][16 nibbles]; Q4_1 [d][m][16]; Q5_0 [d][qh u32][16];
/// Q5_1 [d][m][qh][16]; Q8_0 [d][32 × i8]. Nibble j of byte i is element i (low) or i+16 (high);
/// bit i of qh is the fifth bit of element i.
enum LegacyQuantFormats {
    static let blockSize = 32

    // y = d·(q − 8)
    static func q4_0(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 18, y = dst + b * blockSize
            let d = loadF16(p, 0)
            for i in 0..<16 {
                let byte = loadByte(p, 2 + i)
                y[i] = d * Float(Int(byte & 0xF) - 8)
                y[i + 16] = d * Float(Int(byte >> 4) - 8)
            }
        }
    }

    // y = d·q + m
    static func q4_1(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 20, y = dst + b * blockSize
            let d = loadF16(p, 0), m = loadF16(p, 2)
            for i in 0..<16 {
                let byte = loadByte(p, 4 + i)
                y[i] = d * Float(byte & 0xF) + m
                y[i + 16] = d * Float(byte >> 4) + m
            }
        }
    }

    // y = d·(q − 16), q = nibble | qh_bit << 4
    static func q5_0(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 22, y = dst + b * blockSize
            let d = loadF16(p, 0)
            let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
            for i in 0..<16 {
                let byte = loadByte(p, 6 + i)
                let lo = Int(byte & 0xF) | Int((qh >> UInt32(i)) & 1) << 4
                let hi = Int(byte >> 4) | Int((qh >> UInt32(i + 16)) & 1) << 4
                y[i] = d * Float(lo - 16)
                y[i + 16] = d * Float(hi - 16)
            }
        }
    }

    // y = d·q + m, q = nibble | qh_bit << 4
    static func q5_1(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 24, y = dst + b * blockSize
            let d = loadF16(p, 0), m = loadF16(p, 2)
            let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            for i in 0..<16 {
                let byte = loadByte(p, 8 + i)
                let lo = UInt32(byte & 0xF) | ((qh >> UInt32(i)) & 1) << 4
                let hi = UInt32(byte >> 4) | ((qh >> UInt32(i + 16)) & 1) << 4
                y[i] = d * Float(lo) + m
                y[i + 16] = d * Float(hi) + m
            }
        }
    }

    // y = d·q
    static func q8_0(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 34, y = dst + b * blockSize
            let d = loadF16(p, 0)
            for i in 0..<32 {
                y[i] = d * Float(p.load(fromByteOffset: 2 + i, as: Int8.self))
            }
        }
    }
}
