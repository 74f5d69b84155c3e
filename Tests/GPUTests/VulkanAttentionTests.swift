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

    /// The batched shader (`attendRows`) on rows 2…6 of an 8-row batch: 4 query heads over 2 KV
    /// heads of 64, 37 cells holding positions 0…36 shuffled, in rows `stride` halves apart
    /// (both KV heads plus padding); the rows' query positions put cells above some of them, and
    /// one row (position −1) sees none. Checked against a float64 reference: 1e-4·max|y| (f32
    /// scores, exp and sums over ≤ 37 cells, with scores up to ~10 from queries in ±4); and
    /// against `attend` run per row and KV head on the same data: 1e-5·max|y| (the same f32
    /// operations in the same order, so in practice equal). Rows outside 2…6 of the output keep
    /// their sentinel.
    @Test(arguments: [(window: Int?.none, softcap: Float(0)), (window: 8, softcap: 0), (window: nil, softcap: 30),
                      (window: 8, softcap: 30)])
    func attentionRowsMatchFloat64AndSingleRowAttention(options: (window: Int?, softcap: Float)) throws {
        let device = kernels.device
        let batchRows = 8, firstRow = 2, rows = 5
        let heads = 4, kvHeads = 2, headDim = 64, cells = 37, stride = kvHeads * headDim + 16
        let group = heads / kvHeads
        let scale = 1 / Float(headDim).squareRoot()
        let queries = randomFloats(batchRows * heads * headDim, seed: 131).map { $0 * 4 }
        let positions: [Int32] = (0..<Int32(cells)).map { ($0 * 11) % Int32(cells) }
        let queryPositions: [Int32] = [36, 36, 30, -1, 12, 36, 25, 36]
        let keys = randomFloats(cells * stride, seed: 132).map { Float16($0 * 2) }
        let values = randomFloats(cells * stride, seed: 133).map { Float16($0) }

        func deviceBuffer<T>(_ array: [T]) throws -> VulkanBuffer {
            let bytes = array.withUnsafeBytes { $0.count }
            let buffer = try device.makeBuffer(bytes: (bytes + 3) / 4 * 4)
            try array.withUnsafeBytes { try buffer.write($0) }
            return buffer
        }
        let sentinel: Float = 9
        let output = try deviceBuffer([Float](repeating: sentinel, count: batchRows * heads * headDim))
        let keyBuffer = try deviceBuffer(keys), valueBuffer = try deviceBuffer(values)
        let positionBuffer = try deviceBuffer(positions)
        try kernels.attendRows(queries: deviceBuffer(queries), keys: keyBuffer, values: valueBuffer,
                               positions: positionBuffer, queryPositions: deviceBuffer(queryPositions),
                               scores: device.makeBuffer(bytes: rows * heads * cells * 4), output: output,
                               firstRow: firstRow, rows: rows, heads: heads, kvHeads: kvHeads, headDim: headDim,
                               cells: cells, stride: stride, window: options.window, scale: scale,
                               softcap: options.softcap)
        let gpu = try output.readFloats(count: batchRows * heads * headDim)

        // float64 reference, straight from the definition.
        var exact = [Double](repeating: 0, count: batchRows * heads * headDim)
        var visibleCounts = [Int]()
        for n in firstRow..<firstRow + rows {
            let visible = (0..<cells).filter {
                Attention.isVisible(cellPosition: positions[$0], queryPosition: queryPositions[n], window: options.window)
            }
            visibleCounts.append(visible.count)
            for h in 0..<heads {
                let kvBase = (h / group) * headDim, qBase = (n * heads + h) * headDim
                var scores = [Double]()
                for c in visible {
                    var dot = 0.0
                    for i in 0..<headDim { dot += Double(queries[qBase + i]) * Double(Float(keys[c * stride + kvBase + i])) }
                    var score = dot * Double(scale)
                    if options.softcap != 0 { score = Double(options.softcap) * tanh(score / Double(options.softcap)) }
                    scores.append(score)
                }
                guard let top = scores.max() else { continue }
                let weights = scores.map { exp($0 - top) }
                let total = weights.reduce(0, +)
                for i in 0..<headDim {
                    var sum = 0.0
                    for (k, c) in visible.enumerated() { sum += weights[k] * Double(Float(values[c * stride + kvBase + i])) }
                    exact[qBase + i] = sum / total
                }
            }
        }
        // Rows 2…6 see 31, none, 13, 37 and 26 cells without a window; 8, none, 8, 8, 8 with one.
        #expect(visibleCounts == (options.window == nil ? [31, 0, 13, 37, 26] : [8, 0, 8, 8, 8]))
        let maxOutput = exact.map(abs).max()!

        // `attend` per batch row and KV head: that KV head's query heads, and the cache from its
        // first half on (so cell c's row still starts `stride` halves after cell c − 1's).
        let rowHalves = (cells - 1) * stride + headDim
        for n in firstRow..<firstRow + rows {
            for g in 0..<kvHeads {
                let qStart = (n * heads + g * group) * headDim
                let single = try device.makeBuffer(bytes: group * headDim * 4)
                try kernels.attend(queries: deviceBuffer(Array(queries[qStart..<qStart + group * headDim])),
                                   keys: deviceBuffer(Array(keys[g * headDim..<g * headDim + rowHalves])),
                                   values: deviceBuffer(Array(values[g * headDim..<g * headDim + rowHalves])),
                                   positions: positionBuffer, scores: device.makeBuffer(bytes: group * cells * 4),
                                   output: single, heads: group, headDim: headDim, cells: cells, stride: stride,
                                   queryPosition: queryPositions[n], window: options.window, scale: scale,
                                   softcap: options.softcap)
                let reference = try single.readFloats(count: group * headDim)
                for k in 0..<group * headDim {
                    let g1 = Double(gpu[qStart + k]), a = Double(reference[k])
                    #expect(abs(g1 - a) <= 1e-5 * maxOutput, "row \(n) head \(g * group + k / headDim) [\(k % headDim)]: rows \(g1) vs attend \(a)")
                }
            }
        }
        for index in 0..<batchRows * heads * headDim {
            let n = index / (heads * headDim)
            if n >= firstRow, n < firstRow + rows {
                #expect(abs(Double(gpu[index]) - exact[index]) <= 1e-4 * maxOutput,
                        "row \(n) head \(index / headDim % heads) [\(index % headDim)]: gpu \(gpu[index]) vs float64 \(exact[index])")
            } else {
                #expect(gpu[index] == sentinel, "row \(n) outside the dispatched rows was written")
            }
        }
    }

    @Test func attentionRowsRejectBadShapes() throws {
        let device = kernels.device
        let small = try device.makeBuffer(bytes: 4096)
        func attend(heads: Int = 4, kvHeads: Int = 2, rows: Int = 1, firstRow: Int = 0, stride: Int = 16) throws {
            try kernels.attendRows(queries: small, keys: small, values: small, positions: small, queryPositions: small,
                                   scores: small, output: small, firstRow: firstRow, rows: rows, heads: heads,
                                   kvHeads: kvHeads, headDim: 8, cells: 4, stride: stride, window: nil, scale: 1)
        }
        try attend()
        #expect { try attend(heads: 3) } throws: { ($0 as? VulkanError)?.message.contains("multiple") == true }
        #expect { try attend(stride: 15) } throws: { ($0 as? VulkanError)?.message.contains("cannot hold") == true }
        #expect { try attend(rows: 0) } throws: { ($0 as? VulkanError)?.kind == .invalidArgument }
        #expect { try attend(firstRow: -1) } throws: { ($0 as? VulkanError)?.kind == .invalidArgument }
        #expect { try attend(firstRow: 1000) } throws: { ($0 as? VulkanError)?.message.contains("queries needs") == true }
        #expect { try attend(firstRow: Int.max) } throws: { ($0 as? VulkanError)?.message.contains("too large") == true }
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
