import CriaNumerics
import Foundation
import GPU
import Testing

/// The attention shader against a float64 reference and against Attention.attendHeads (the CPU
/// path over an f16 cache), for plain causal attention, a sliding window and a soft cap. Skipped,
/// with one printed line, where no Vulkan device exists.
///
/// Tolerances, with V = max|v|: against float64, 1e-5·V (f32 scores, exp and sums over ≤ 64
/// cells). Against the CPU, which rounds the queries to f16 (each score off by at most
/// 2⁻¹¹·scale·Σ|q·k|, call the largest Δ; softmax weights then move by ≤ 2Δ relative) and
/// accumulates values in f16 (≤ 2⁻¹⁰ relative per visible cell): (2Δ + (cells + 2)·2⁻¹⁰)·V.
@Suite(.enabled(if: GPUTestDevice.available, "no Vulkan device (see the printed line)"))
struct VulkanAttentionTests {
    let kernels = GPUTestDevice.kernels!

    @Test(arguments: [(window: Int?.none, softcap: Float(0)), (window: 16, softcap: 0), (window: nil, softcap: 5)])
    func attentionMatchesFloat64AndCPU(options: (window: Int?, softcap: Float)) throws {
        let device = kernels.device
        let heads = 4, headDim = 64, stride = 80, cells = 50
        let queryPosition: Int32 = 40
        let scale = 1 / Float(headDim).squareRoot()
        let queries = randomFloats(heads * headDim, seed: 101).map { $0 * 2 }
        // Cells hold positions 0..<50 in shuffled order, so visibility depends on the position, not the index.
        let positions: [Int32] = (0..<Int32(cells)).map { ($0 * 17) % Int32(cells) }
        let keys = randomFloats(cells * stride, seed: 102).map { Float16($0 * 2) }
        let values = randomFloats(cells * stride, seed: 103).map { Float16($0) }

        func deviceBuffer<T>(_ array: [T]) throws -> VulkanBuffer {
            let bytes = array.withUnsafeBytes { $0.count }
            let buffer = try device.makeBuffer(bytes: (bytes + 3) / 4 * 4)
            try array.withUnsafeBytes { try buffer.write($0) }
            return buffer
        }
        let output = try device.makeBuffer(bytes: heads * headDim * 4)
        try kernels.attend(queries: deviceBuffer(queries), keys: deviceBuffer(keys), values: deviceBuffer(values),
                           positions: deviceBuffer(positions), scores: device.makeBuffer(bytes: heads * cells * 4),
                           output: output, heads: heads, headDim: headDim, cells: cells, stride: stride,
                           queryPosition: queryPosition, window: options.window, scale: scale, softcap: options.softcap)
        let gpu = try output.readFloats(count: heads * headDim)

        var cpu = [Float](repeating: 0, count: heads * headDim)
        var scratch = [UInt8](repeating: 0, count: Attention.scratchBytes(heads: heads, headDimension: headDim))
        keys.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                Attention.attendHeads(queries: queries, queryStride: headDim, heads: heads, keys: k.baseAddress!,
                                      values: v.baseAddress!, stride: stride, positions: positions, cellCount: cells,
                                      queryPosition: queryPosition, window: options.window, scale: scale,
                                      softcap: options.softcap, headDimension: headDim, scratch: &scratch,
                                      into: &cpu, outputStride: headDim)
            }
        }

        let visible = (0..<cells).filter {
            Attention.isVisible(cellPosition: positions[$0], queryPosition: queryPosition, window: options.window)
        }
        #expect(visible.count == (options.window == nil ? 41 : 16))
        let maxValue = Double(values.map { abs(Float($0)) }.max()!)
        for h in 0..<heads {
            var scores = [Double](), worstScoreShift = 0.0
            for c in visible {
                var dot = 0.0, magnitude = 0.0
                for i in 0..<headDim {
                    let term = Double(queries[h * headDim + i]) * Double(Float(keys[c * stride + i]))
                    dot += term
                    magnitude += abs(term)
                }
                var score = dot * Double(scale)
                if options.softcap != 0 { score = Double(options.softcap) * tanh(score / Double(options.softcap)) }
                scores.append(score)
                worstScoreShift = max(worstScoreShift, 0x1p-11 * Double(scale) * magnitude)
            }
            let top = scores.max()!
            let weights = scores.map { exp($0 - top) }
            let total = weights.reduce(0, +)
            let cpuTolerance = (2 * worstScoreShift + Double(visible.count + 2) * 0x1p-10) * maxValue
            for i in 0..<headDim {
                var exact = 0.0
                for (n, c) in visible.enumerated() { exact += weights[n] * Double(Float(values[c * stride + i])) }
                exact /= total
                let g = Double(gpu[h * headDim + i]), c = Double(cpu[h * headDim + i])
                #expect(abs(g - exact) <= 1e-5 * maxValue, "head \(h) [\(i)]: gpu \(g) vs float64 \(exact)")
                #expect(abs(g - c) <= cpuTolerance, "head \(h) [\(i)]: gpu \(g) vs CPU \(c)")
            }
        }
    }

    @Test func noVisibleCellGivesZeros() throws {
        let device = kernels.device
        let heads = 2, headDim = 8, cells = 3
        let positions: [Int32] = [5, 6, 7]
        let halves = [Float16](repeating: 1, count: cells * headDim)
        let queries = try device.makeBuffer(bytes: heads * headDim * 4)
        try queries.write([Float](repeating: 1, count: heads * headDim))
        let keys = try device.makeBuffer(bytes: cells * headDim * 2)
        try halves.withUnsafeBytes { try keys.write($0) }
        let positionBuffer = try device.makeBuffer(bytes: cells * 4)
        try positions.withUnsafeBytes { try positionBuffer.write($0) }
        let output = try device.makeBuffer(bytes: heads * headDim * 4)
        try output.write([Float](repeating: 9, count: heads * headDim))
        // Query at position 4 sees none of the cells at 5, 6, 7.
        try kernels.attend(queries: queries, keys: keys, values: keys, positions: positionBuffer,
                           scores: device.makeBuffer(bytes: heads * cells * 4), output: output, heads: heads,
                           headDim: headDim, cells: cells, stride: headDim, queryPosition: 4, window: nil, scale: 1)
        #expect(try output.readFloats(count: heads * headDim) == [Float](repeating: 0, count: heads * headDim))
    }
}
