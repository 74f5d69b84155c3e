import CriaNumerics
import Foundation
import GPU
import Testing

/// The attention shader (`attendRows`) against Attention.attendHeads (the CPU engine's one-row
/// attention over an f16 cache, whose numerics the shader follows) and a float64 reference, for
/// plain causal attention, a sliding window, a soft cap and scaled queries, with head sizes that
/// are and are not a multiple of 64. Skipped, with one printed line, where no Vulkan device exists.
///
/// The `_f64` build without a soft cap must give the CPU's bits, also over long caches (700 and
/// 1500 cells). (An exp an ulp off rarely shows there: the f16 accumulator and the f32 sum absorb
/// it — flipping the last bit of every 64th exp failed nothing — so exp itself is checked only
/// through the outputs.) Tolerances otherwise, with V = max|v|: against the CPU, 2⁻⁸·V: both round the queries to f16, order
/// q·k's sum alike and keep an f16 accumulator, so they differ where the device's exp (or tanh)
/// differs from the CPU's in the last bits and that moves an f16 rounding of the accumulator
/// (2⁻¹¹ of it each time), or the f32 sum S by an ulp or two; at least 90% of the outputs must
/// be within 1e-6 relative of the CPU's (an f32 difference, no f16 rounding moved). Against float64:
/// the f16 query rounding moves each score by at most 2⁻¹¹·scale·Σ|q·k| (call the largest Δ;
/// softmax weights then move by ≤ 2Δ relative) and the f16 accumulator errs by ≤ 2⁻¹⁰ relative
/// per visible cell: (2Δ + (cells + 2)·2⁻¹⁰)·V.
@Suite(.enabled(if: GPUTestDevice.available, "no Vulkan device (see the printed line)"))
struct VulkanAttentionTests {
    let kernels = GPUTestDevice.kernels!

    struct Options: Sendable, CustomTestStringConvertible {
        var window: Int?
        var softcap: Float = 0
        var queryScale: Float = 1
        var headDim = 64
        /// The `_f64` build (where the device has 64-bit floats) or the f32 one.
        var float64 = true
        /// Cached cells (query positions scale with it).
        var cells = 37
        var testDescription: String {
            "window \(window ?? 0), cap \(softcap), query scale \(queryScale), head \(headDim), \(cells) cells\(float64 ? "" : ", f32 build")"
        }
    }

    func deviceBuffer<T>(_ array: [T]) throws -> VulkanBuffer {
        let bytes = array.withUnsafeBytes { $0.count }
        let buffer = try kernels.device.makeBuffer(bytes: (bytes + 3) / 4 * 4)
        try array.withUnsafeBytes { try buffer.write($0) }
        return buffer
    }

    /// Rows 2…6 of an 8-row batch: 4 query heads over 2 KV heads, 37 cells holding positions
    /// 0…36 shuffled (so visibility depends on the position, not the index), in rows `stride`
    /// halves apart (both KV heads plus padding); the rows' query positions put cells above
    /// some of them, and one row (position −1) sees none and gets zeros. Rows outside 2…6 of
    /// the output keep their sentinel.
    @Test(arguments: [Options(), Options(window: 8), Options(softcap: 30), Options(window: 8, softcap: 30),
                      Options(queryScale: 0.0625), Options(headDim: 80), Options(window: 8, softcap: 5, headDim: 160),
                      Options(float64: false), Options(window: 8, softcap: 5, headDim: 160, float64: false), Options(cells: 1500),
                      Options(headDim: 256, cells: 700)])
    func attentionRowsMatchCPUAndFloat64(options: Options) throws {
        let device = kernels.device
        let kernels = try VulkanKernels(device: device, float64: options.float64 && device.info.supportsFloat64)
        let batchRows = 8, firstRow = 2, rows = 5
        let heads = 4, kvHeads = 2, headDim = options.headDim, cells = options.cells, stride = kvHeads * headDim + 16
        let group = heads / kvHeads
        // Models that scale queries pass scale 1 for the scores, as the CPU engine does.
        let scale = options.queryScale != 1 ? 1 : 1 / Float(headDim).squareRoot()
        let queries = randomFloats(batchRows * heads * headDim, seed: 131).map { $0 * 4 }
        let positions: [Int32] = (0..<Int32(cells)).map { ($0 * 11) % Int32(cells) }
        let queryPositions: [Int32] = [36, 36, 30, -1, 12, 36, 25, 36].map { $0 < 0 ? -1 : $0 * Int32(cells) / 37 }
        let keys = randomFloats(cells * stride, seed: 132).map { Float16($0 * 2) }
        let values = randomFloats(cells * stride, seed: 133).map { Float16($0) }

        let sentinel: Float = 9
        let output = try deviceBuffer([Float](repeating: sentinel, count: batchRows * heads * headDim))
        try kernels.attendRows(queries: deviceBuffer(queries), keys: deviceBuffer(keys), values: deviceBuffer(values),
                               positions: deviceBuffer(positions), queryPositions: deviceBuffer(queryPositions),
                               scores: device.makeBuffer(bytes: rows * heads * cells * 4), output: output,
                               firstRow: firstRow, rows: rows, heads: heads, kvHeads: kvHeads, headDim: headDim,
                               cells: cells, stride: stride, window: options.window, scale: scale,
                               softcap: options.softcap, queryScale: options.queryScale)
        let gpu = try output.readFloats(count: batchRows * heads * headDim)

        let maxValue = Double(values.map { abs(Float($0)) }.max()!)
        // The `_f64` build computes the CPU's exp (glibc's), fused multiply-adds and reciprocal:
        // without a soft cap (tanh is the device's own) every output is the CPU's bits.
        let bitExact = kernels.usesFloat64 && options.softcap == 0
        let scaledQueries = queries.map { $0 * options.queryScale }
        var visibleCounts = [Int](), equal = 0, compared = 0
        for n in firstRow..<firstRow + rows {
            let visible = (0..<cells).filter {
                Attention.isVisible(cellPosition: positions[$0], queryPosition: queryPositions[n], window: options.window)
            }
            visibleCounts.append(visible.count)
            for g in 0..<kvHeads {
                // The CPU engine's attention for this row and KV head's query heads.
                let qStart = (n * heads + g * group) * headDim
                var cpu = [Float](repeating: 0, count: group * headDim)
                var scratch = [UInt8](repeating: 0, count: Attention.scratchBytes(heads: group, headDimension: headDim))
                keys.withUnsafeBufferPointer { k in
                    values.withUnsafeBufferPointer { v in
                        scaledQueries.withUnsafeBufferPointer { q in
                            Attention.attendHeads(queries: q.baseAddress! + qStart, queryStride: headDim, heads: group,
                                                  keys: k.baseAddress! + g * headDim, values: v.baseAddress! + g * headDim,
                                                  stride: stride, positions: positions, cellCount: cells,
                                                  queryPosition: queryPositions[n], window: options.window, scale: scale,
                                                  softcap: options.softcap, headDimension: headDim, scratch: &scratch,
                                                  into: &cpu, outputStride: headDim)
                        }
                    }
                }
                for j in 0..<group {
                    let h = g * group + j, qBase = (n * heads + h) * headDim, kvBase = g * headDim
                    // float64, straight from the definition.
                    var scores = [Double](), worstScoreShift = 0.0
                    for c in visible {
                        var dot = 0.0, magnitude = 0.0
                        for i in 0..<headDim {
                            let term = Double(scaledQueries[qBase + i]) * Double(Float(keys[c * stride + kvBase + i]))
                            dot += term
                            magnitude += abs(term)
                        }
                        var score = dot * Double(scale)
                        if options.softcap != 0 { score = Double(options.softcap) * tanh(score / Double(options.softcap)) }
                        scores.append(score)
                        worstScoreShift = max(worstScoreShift, 0x1p-11 * Double(scale) * magnitude)
                    }
                    let top = scores.max() ?? 0
                    let weights = scores.map { exp($0 - top) }
                    let total = weights.reduce(0, +)
                    let exactTolerance = (2 * worstScoreShift + Double(visible.count + 2) * 0x1p-10) * maxValue
                    for i in 0..<headDim {
                        var exact = 0.0
                        for (k, c) in visible.enumerated() { exact += weights[k] * Double(Float(values[c * stride + kvBase + i])) }
                        if total > 0 { exact /= total }
                        let d = Double(gpu[qBase + i]), c = Double(cpu[j * headDim + i])
                        #expect(abs(d - c) <= 0x1p-8 * maxValue, "row \(n) head \(h) [\(i)]: gpu \(d) vs CPU \(c)")
                        #expect(abs(d - exact) <= exactTolerance, "row \(n) head \(h) [\(i)]: gpu \(d) vs float64 \(exact)")
                        if visible.isEmpty { #expect(d == 0) }
                        if bitExact {
                            #expect(gpu[qBase + i].bitPattern == cpu[j * headDim + i].bitPattern, "row \(n) head \(h) [\(i)]: gpu \(d) vs CPU \(c)")
                        }
                        equal += abs(d - c) <= 1e-6 * abs(c) ? 1 : 0
                        compared += 1
                    }
                }
            }
        }
        // Rows 2…6 see 31, none, 13, 37 and 26 cells without a window; 8, none, 8, 8, 8 with one.
        if cells == 37 { #expect(visibleCounts == (options.window == nil ? [31, 0, 13, 37, 26] : [8, 0, 8, 8, 8])) }
        #expect(equal * 10 >= compared * 9, "only \(equal) of \(compared) outputs within 1e-6 of the CPU's")
        print("attention \(options.testDescription): \(equal) of \(compared) outputs within 1e-6 of the CPU's")
        for index in 0..<batchRows * heads * headDim where !(firstRow..<firstRow + rows).contains(index / (heads * headDim)) {
            #expect(gpu[index] == sentinel, "row \(index / (heads * headDim)) outside the dispatched rows was written")
        }
    }

    @Test func attentionRowsRejectBadShapes() throws {
        let device = kernels.device
        let small = try device.makeBuffer(bytes: 4096)
        func attend(heads: Int = 4, kvHeads: Int = 2, rows: Int = 1, firstRow: Int = 0, stride: Int = 16,
                    queryScale: Float = 1) throws {
            try kernels.attendRows(queries: small, keys: small, values: small, positions: small, queryPositions: small,
                                   scores: small, output: small, firstRow: firstRow, rows: rows, heads: heads,
                                   kvHeads: kvHeads, headDim: 8, cells: 4, stride: stride, window: nil, scale: 1,
                                   queryScale: queryScale)
        }
        try attend()
        #expect { try attend(heads: 3) } throws: { ($0 as? VulkanError)?.message.contains("multiple") == true }
        #expect { try attend(stride: 15) } throws: { ($0 as? VulkanError)?.message.contains("cannot hold") == true }
        #expect { try attend(rows: 0) } throws: { ($0 as? VulkanError)?.kind == .invalidArgument }
        #expect { try attend(firstRow: -1) } throws: { ($0 as? VulkanError)?.kind == .invalidArgument }
        #expect { try attend(firstRow: 1000) } throws: { ($0 as? VulkanError)?.message.contains("queries needs") == true }
        #expect { try attend(firstRow: Int.max) } throws: { ($0 as? VulkanError)?.message.contains("too large") == true }
        #expect { try attend(queryScale: .infinity) } throws: { ($0 as? VulkanError)?.message.contains("query scale") == true }
    }
}
