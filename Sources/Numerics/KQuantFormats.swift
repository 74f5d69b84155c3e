/// Dequantizers for the 256-element super-block formats Q2_K … Q6_K and Q8_K.
///
/// Each super-block holds sub-blocks of 16 or 32 elements with their own small integer scales
/// (and minimums) multiplied by f16 super-block factors `d` and `dmin`.
enum KQuantFormats {
    static let qk = 256

    /// Unpacks the twelve bytes of 6-bit scales and mins shared by Q4_K and Q5_K:
    /// bytes 0–3 hold scales 0–3 (low 6 bits), 4–7 mins 0–3, 8–11 the low 4 bits of scales and
    /// mins 4–7, whose top 2 bits sit in the spare bits of bytes 0–7.
    @inline(__always)
    static func scaleAndMin(_ s: UnsafeRawPointer, _ j: Int) -> (UInt8, UInt8) {
        if j < 4 {
            return (loadByte(s, j) & 63, loadByte(s, j + 4) & 63)
        }
        let sc = (loadByte(s, j + 4) & 0xF) | ((loadByte(s, j - 4) >> 6) << 4)
        let m = (loadByte(s, j + 4) >> 4) | ((loadByte(s, j) >> 6) << 4)
        return (sc, m)
    }

    // Q2_K: [scales 16][qs 64][d][dmin]; y = (d·(sc & 15))·q − dmin·(sc >> 4), q 2 bits
    static func q2_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 84, y = dst + b * qk
            let d = loadF16(p, 80), dmin = loadF16(p, 82)
            for i in 0..<qk {
                let group = i / 128, shift = (i % 128) / 32, j = i % 32
                let q = (loadByte(p, 16 + group * 32 + j) >> UInt8(2 * shift)) & 3
                let sc = loadByte(p, i / 16)
                let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                y[i] = dl * Float(q) - ml
            }
        }
    }

    // Q3_K: [hmask 32][qs 64][scales 12][d]; y = (d·(s − 32))·(q − 4·!hbit), q 2 bits, s 6 bits
    static func q3_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 110, y = dst + b * qk
            let d = loadF16(p, 108)
            var scales = (Int8(0), Int8(0), Int8(0), Int8(0), Int8(0), Int8(0), Int8(0), Int8(0),
                          Int8(0), Int8(0), Int8(0), Int8(0), Int8(0), Int8(0), Int8(0), Int8(0))
            withUnsafeMutableBytes(of: &scales) { sbuf in
                for k in 0..<16 {
                    let low = (loadByte(p, 96 + k % 8) >> UInt8(4 * (k / 8))) & 0xF
                    let high = (loadByte(p, 96 + 8 + k % 4) >> UInt8(2 * (k / 4))) & 3
                    sbuf[k] = UInt8(bitPattern: Int8(bitPattern: low | high << 4) &- 32)
                }
            }
            withUnsafeBytes(of: scales) { sbuf in
                for i in 0..<qk {
                    let group = i / 128, shift = (i % 128) / 32, j = i % 32
                    let low = Int((loadByte(p, 32 + group * 32 + j) >> UInt8(2 * shift)) & 3)
                    let hbit = Int((loadByte(p, j) >> UInt8(i / 32)) & 1)
                    let q = low - ((hbit ^ 1) << 2)
                    let dl = d * Float(Int8(bitPattern: sbuf[i / 16]))
                    y[i] = dl * Float(q)
                }
            }
        }
    }

    // Q4_K: [d][dmin][scales 12][qs 128]; y = (d·sc)·q − dmin·m, q 4 bits, sub-blocks of 32
    static func q4_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 144, y = dst + b * qk
            let d = loadF16(p, 0), dmin = loadF16(p, 2)
            for sub in 0..<8 {
                let (sc, m) = scaleAndMin(p + 4, sub)
                let dd = d * Float(sc), dm = dmin * Float(m)
                let group = sub / 2, shift = UInt8(4 * (sub % 2))
                for j in 0..<32 {
                    let q = (loadByte(p, 16 + group * 32 + j) >> shift) & 0xF
                    y[sub * 32 + j] = dd * Float(q) - dm
                }
            }
        }
    }

    // Q5_K: [d][dmin][scales 12][qh 32][qs 128]; as Q4_K with a fifth bit from qh
    static func q5_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 176, y = dst + b * qk
            let d = loadF16(p, 0), dmin = loadF16(p, 2)
            for sub in 0..<8 {
                let (sc, m) = scaleAndMin(p + 4, sub)
                let dd = d * Float(sc), dm = dmin * Float(m)
                let group = sub / 2, shift = UInt8(4 * (sub % 2))
                for j in 0..<32 {
                    let low = (loadByte(p, 48 + group * 32 + j) >> shift) & 0xF
                    let high = (loadByte(p, 16 + j) >> UInt8(sub)) & 1
                    y[sub * 32 + j] = dd * Float(low | high << 4) - dm
                }
            }
        }
    }

    // Q6_K: [ql 128][qh 64][scales 16 × i8][d]; y = (d·s)·(q − 32), q 6 bits, sub-blocks of 16
    static func q6_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 210, y = dst + b * qk
            let d = loadF16(p, 208)
            for i in 0..<qk {
                let group = i / 128, r = i % 128
                let low = (loadByte(p, group * 64 + r % 64) >> UInt8(4 * (r / 64))) & 0xF
                let high = (loadByte(p, 128 + group * 32 + r % 32) >> UInt8(2 * (r / 32))) & 3
                let q = Int(low | high << 4) - 32
                let ds = d * Float(p.load(fromByteOffset: 192 + i / 16, as: Int8.self))
                y[i] = ds * Float(q)
            }
        }
    }

    // Q8_K: [d f32][qs 256 × i8][bsums 16 × i16]; y = d·q
    static func q8_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 292, y = dst + b * qk
            let d = Float(bitPattern: p.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian)
            for i in 0..<qk {
                y[i] = d * Float(p.load(fromByteOffset: 4 + i, as: Int8.self))
            }
        }
    }
}
