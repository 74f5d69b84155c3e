import CNumerics
import GGUF

/// Quantization of f32 activation rows into the 8-bit block formats that quantized weights are
/// dotted with (as GGUF engines do, ggml's vec_dot_type): Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL/MXFP4
/// weights, Q8_1 (which also carries d·Σq) for Q4_1/Q5_1, and Q8_K (256-element blocks with
/// 16-element partial sums) for the k-quants, IQ4_XS, the IQ1/IQ2/IQ3 lattice formats and TQ1_0/TQ2_0. Rounding is to nearest, ties to even.
public enum ActivationQuantization {
    /// The activation format paired with each weight format, or nil when the weight is dotted
    /// with f32 activations directly (F32, F16, BF16).
    public static func format(for weight: GGMLType) -> GGMLType? {
        switch weight {
        case .q4_0, .q5_0, .q8_0, .iq4_nl, .mxfp4: return .q8_0
        case .q4_1, .q5_1: return .q8_1
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs: return .q8_K
        case .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq1_s, .iq1_m, .tq1_0, .tq2_0: return .q8_K
        default: return nil
        }
    }

    /// Bytes needed for `count` activations in `format`.
    public static func rowBytes(_ format: GGMLType, count: Int) -> Int {
        // Q8_1 blocks here are [f16 d][f16 s][32 × i8] = 36 bytes (GGMLType's 40 is ggml's f32 layout).
        count / format.blockSize * (format == .q8_1 ? 36 : format.typeSize)
    }

    /// Quantizes `count` floats of `x` into `format` at `out`. Every path gives the same bytes.
    public static func quantize(_ x: UnsafePointer<Float>, count: Int, format: GGMLType, into out: UnsafeMutableRawPointer,
                                path: KernelPath = .portable) {
        if path != .portable {
            switch format {
            case .q8_0: return cn_quantize_q8_0(path.rawValue, x, Int32(count), out, 0)
            case .q8_1: return cn_quantize_q8_0(path.rawValue, x, Int32(count), out, 1)
            case .q8_K: return cn_quantize_q8_K(path.rawValue, x, Int32(count), out)
            default: break
            }
        }
        switch format {
        case .q8_0: q8_0(x, count: count, into: out, withSum: false)
        case .q8_1: q8_0(x, count: count, into: out, withSum: true)
        case .q8_K: q8_K(x, count: count, into: out)
        default: preconditionFailure("no activation quantizer for \(format.name)")
        }
    }

    @inline(__always)
    static func roundEven(_ v: Float) -> Int32 {
        Int32(v.rounded(.toNearestOrEven))
    }

    // Q8_0: d = max|x|/127 (stored f16), q = round(x·127/max|x|). Q8_1 adds s = d·Σq (f16) after d.
    static func q8_0(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer, withSum: Bool) {
        let blockBytes = withSum ? 36 : 34
        let qOffset = withSum ? 4 : 2
        for b in 0..<count / 32 {
            let xb = x + b * 32, p = out + b * blockBytes
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(xb[j])) }
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            var sum: Int32 = 0
            for j in 0..<32 {
                let q = roundEven(xb[j] * id)
                sum += q
                p.storeBytes(of: Int8(truncatingIfNeeded: q), toByteOffset: qOffset + j, as: Int8.self)
            }
            p.storeBytes(of: Float16(d).bitPattern.littleEndian, toByteOffset: 0, as: UInt16.self)
            if withSum {
                p.storeBytes(of: Float16(d * Float(sum)).bitPattern.littleEndian, toByteOffset: 2, as: UInt16.self)
            }
        }
    }

    // Q8_K: with m the element of largest magnitude, q = min(127, round(−127/m · x)), d = −m/127
    // (f32); bsums[i] = Σ of q over elements 16i..<16i+16.
    static func q8_K(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer) {
        for b in 0..<count / 256 {
            let xb = x + b * 256, p = out + b * 292
            var amax: Float = 0, maxValue: Float = 0
            for j in 0..<256 {
                let a = abs(xb[j])
                if a > amax { amax = a; maxValue = xb[j] }
            }
            if amax == 0 {
                (p).initializeMemory(as: UInt8.self, repeating: 0, count: 292)
                continue
            }
            let iscale = -127 / maxValue
            for group in 0..<16 {
                var sum: Int32 = 0
                for j in group * 16..<group * 16 + 16 {
                    let q = min(127, roundEven(iscale * xb[j]))
                    sum += q
                    p.storeBytes(of: Int8(truncatingIfNeeded: q), toByteOffset: 4 + j, as: Int8.self)
                }
                p.storeBytes(of: Int16(truncatingIfNeeded: sum).littleEndian, toByteOffset: 260 + 2 * group, as: Int16.self)
            }
            p.storeBytes(of: (1 / iscale).bitPattern.littleEndian, toByteOffset: 0, as: UInt32.self)
        }
    }
}
