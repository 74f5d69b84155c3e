import Testing
import GGUF
import CriaNumerics
import TestSupport
@testable import Models

/// Models whose FFN down projections are stored in the lattice, ternary and FP4 formats load and
/// run through the engine's matmul, and compute what the same model computes with those weights
/// dequantized to F32 (the dequantizers are checked bit-identical to gguf-py in NumericsTests).
///
/// The two differ only by the 8-bit rounding of the down projection's input (Q8_K, or Q8_0 for
/// MXFP4: a step of max|x|/127 per block), carried through two layers. Tolerance: the largest
/// logit difference is at most 5 % of the largest change the FFNs make to the logits (measured
/// 1.5–2.2 % for these formats, 1.5–14 on logits); a wrong layout, scale or order of the weights
/// gives differences of the size of that change itself.
@Suite struct WeightFormatModelTests {
    static let formats: [GGMLType] = [.iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq1_s, .iq1_m, .tq1_0, .tq2_0, .mxfp4]
    static let embedding = 64, feedForward = 256

    /// Random blocks of `type` for a [columns, rows] matrix, each block's scale set to a small
    /// positive value (random bytes there could be inf or NaN).
    static func randomBlocks(_ type: GGMLType, rows: Int, columns: Int, rng: inout SplitMix) -> [UInt8] {
        let blocks = rows * columns / type.blockSize
        var w = (0..<blocks * type.typeSize).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for b in 0..<blocks {
            let base = b * type.typeSize
            // scales that keep each output of order 1: lattice values reach 43–62, ternary ones 1
            let f16 = Float16(type == .tq1_0 || type == .tq2_0 ? 0.02 : 0.0008).bitPattern
            switch type {
            case .mxfp4: w[base] = 121  // 2^−7, times levels up to 12
            case .iq1_m:
                for k in 0..<4 { w[base + 49 + 2 * k] = (w[base + 49 + 2 * k] & 0x0F) | UInt8((f16 >> UInt16(4 * k)) & 0xF) << 4 }
            default:
                let offset = type == .tq1_0 ? 52 : type == .tq2_0 ? 64 : 0
                w[base + offset] = UInt8(f16 & 0xFF)
                w[base + offset + 1] = UInt8(f16 >> 8)
            }
        }
        return w
    }

    static func f32Bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    /// llama-f32 with an FFN of 256 in both layers: random F32 gate/up, and down in `type` (or,
    /// with `dequantized`, those same weights as F32; with `zeroDown`, an all-zero F32 down).
    static func model(_ type: GGMLType, dequantized: Bool = false, zeroDown: Bool = false) throws -> TransformerModel {
        var rng = SplitMix(seed: UInt64(type.rawValue) &* 977 &+ 1)
        let file = try BrokenModelTests.rebuilt(metadata: { $0["llama.feed_forward_length"] = .uint32(UInt32(feedForward)) }) { ts in
            for layer in 0..<2 {
                for name in ["ffn_gate", "ffn_up"] {
                    let i = ts.firstIndex { $0.name == "blk.\(layer).\(name).weight" }!
                    let values = (0..<embedding * feedForward).map { _ in Float(rng.unit() * 0.6 - 0.3) }
                    ts[i].shape = [embedding, feedForward]
                    ts[i].data = f32Bytes(values)
                }
                let i = ts.firstIndex { $0.name == "blk.\(layer).ffn_down.weight" }!
                let blocks = randomBlocks(type, rows: embedding, columns: feedForward, rng: &rng)
                ts[i].shape = [feedForward, embedding]
                if zeroDown {
                    ts[i].data = [UInt8](repeating: 0, count: feedForward * embedding * 4)
                } else if dequantized {
                    var values = [Float](repeating: 0, count: feedForward * embedding)
                    blocks.withUnsafeBytes { b in
                        values.withUnsafeMutableBufferPointer {
                            Dequantize.rowUnchecked(type, b.baseAddress!, count: feedForward * embedding, into: $0.baseAddress!)
                        }
                    }
                    ts[i].data = f32Bytes(values)
                } else {
                    ts[i].type = type
                    ts[i].data = blocks
                }
            }
        }
        return try TransformerModel(file: file, threads: 2)
    }

    @Test(arguments: formats)
    func quantizedDownProjectionMatchesItsDequantization(_ type: GGMLType) throws {
        let tokens = try Synthetic.Expected("llama-f32").tokensA
        func logits(_ m: TransformerModel) throws -> [Float] { try Synthetic.run(m, m.makeCache(capacity: 64), tokens, start: 0) }
        let quantized = try logits(try Self.model(type))
        let reference = try logits(try Self.model(type, dequantized: true))
        let withoutFFN = try logits(try Self.model(type, zeroDown: true))
        #expect(quantized.allSatisfy { $0.isFinite })
        let error = Synthetic.maxAbsDiff(quantized, reference), contribution = Synthetic.maxAbsDiff(reference, withoutFFN)
        print("\(type.name): |quantized − dequantized| ≤ \(error), FFN contribution \(contribution)")
        #expect(contribution >= 1, "\(type.name): the FFN barely changes the logits (\(contribution))")
        #expect(error <= 0.05 * contribution, "\(type.name): \(error) vs FFN contribution \(contribution)")
    }
}
