/// MXFP4 (OCP microscaling FP4): 32 elements as 4-bit E2M1 codes sharing one E8M0 power-of-two
/// scale, as gpt-oss stores its experts.
enum MXFP4Format {
    /// The E2M1 values doubled, so they are integers (the halving is folded into the scale).
    static let levels: [Int8] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]

    /// Half the E8M0 scale 2^(e − 127), i.e. 2^(e − 128), built from its bits (e < 2 gives
    /// the subnormals 2^−128 and 2^−127).
    @inline(__always)
    static func halfScale(_ e: UInt8) -> Float {
        Float(bitPattern: e < 2 ? UInt32(0x0020_0000) << UInt32(e) : UInt32(e - 1) << 23)
    }

    // [e][16 bytes]: low nibbles are elements 0…15, high nibbles 16…31; y = halfScale(e)·levels[q]
    static func dequantize(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        levels.withUnsafeBufferPointer { kv in
            for b in 0..<blocks {
                let p = src + b * 17, y = dst + b * 32
                let d = halfScale(loadByte(p, 0))
                for j in 0..<16 {
                    let byte = loadByte(p, 1 + j)
                    y[j] = d * Float(kv[Int(byte & 0xF)])
                    y[j + 16] = d * Float(kv[Int(byte >> 4)])
                }
            }
        }
    }
}
