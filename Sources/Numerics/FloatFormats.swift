/// Dequantizers for the plain floating-point storage formats (F16, BF16).
enum FloatFormats {
    static func f16(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for i in 0..<count { dst[i] = loadF16(src, 2 * i) }
    }

    // bf16 is the top half of an f32: y = bits(x) << 16
    static func bf16(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let bits = UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)
            dst[i] = Float(bitPattern: bits << 16)
        }
    }
}
