import CriaNumerics
import GGUF
import GPU
import TestSupport
import Testing

/// The F16 and quantized matrix products (F16, Q4_0, Q8_0, Q5_0, Q4_K, Q5_K, Q6_K weights; one or
/// several activation rows) against the CPU engine's (`Matmul`), on matrices in GGUF's block layout:
/// - F16: against the float64 dot of the row as `Dequantize.row` decodes it and against the CPU,
///   |gpu − exact| ≤ 1e-4·Σ |w_i|·|x_i|;
/// - quantized weights take the activations as `roundActivations` quantizes them (what the
///   offloaded forward pass does). The one-invocation-per-row builds with exact fused
///   multiply-adds (`_f64`, the device's choice on lavapipe) must give the CPU's bits; the
///   workgroup-per-row layout and the one-invocation-per-row layout without f64 are within
///   1e-5·Σ m_i·|x_i| (m_i bounds the terms added for element i: |w_i|, plus 2·63·dmin for Q4_K
///   and Q5_K, which also subtract mins).
/// `roundActivations` itself must give, bit for bit, the CPU's 8-bit blocks.
/// Skipped, with one printed line, where no Vulkan device exists.
@Suite(.enabled(if: GPUTestDevice.available, "no Vulkan device (see the printed line)"))
struct VulkanQuantizedMatvecTests {
    let kernels = GPUTestDevice.kernels!

    /// Random bytes for `blocks` blocks of `type`, with the f16 fields at `halves` (byte offsets
    /// in the block) set to finite values in [2^e, 2^(e+1)) — every other bit pattern is a valid
    /// quant or scale — and those values per block.
    func randomBlocks(_ type: GGMLType, blocks: Int, seed: UInt64, halves: [(offset: Int, exponent: Int)])
        -> (bytes: [UInt8], halves: [[Double]]) {
        var generator = SplitMix(seed: seed)
        var bytes = (0..<blocks * type.typeSize).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        var values = [[Double]]()
        for block in 0..<blocks {
            var row = [Double]()
            for (offset, exponent) in halves {
                let mantissa = Int(generator.next() & 0x3FF)
                let bits = UInt16((exponent + 15) << 10 | mantissa)
                bytes[block * type.typeSize + offset] = UInt8(bits & 0xFF)
                bytes[block * type.typeSize + offset + 1] = UInt8(bits >> 8)
                row.append(Double(1024 + mantissa) / 1024 * Double(sign: .plus, exponent: exponent, significand: 1))
            }
            values.append(row)
        }
        return (bytes, values)
    }

    /// Runs the shader for `type` on `packed` with `batch` activation rows and checks every
    /// output as the suite's comment says. `extraMagnitude(row, column)` is what m_i adds to |w_i|.
    func checkProduct(_ type: GGMLType, packed: [UInt8], rows: Int, columns: Int, batch: Int, seed: UInt64,
                      extraMagnitude: (Int, Int) -> Double = { _, _ in 0 }) throws {
        let device = kernels.device
        let x = randomFloats(batch * columns, seed: seed)
        let bufferBytes = try #require(VulkanKernels.weightBufferBytes(type, rows: rows, columns: columns))
        let weights = try device.makeBuffer(bytes: bufferBytes)
        try packed.withUnsafeBytes { try weights.write($0) }
        let input = try device.makeBuffer(bytes: batch * columns * 4)
        try input.write(x)
        let output = try device.makeBuffer(bytes: batch * rows * 4)
        #expect(GPUTestDevice.bothLayouts.count == 2)
        guard let blocks = VulkanKernels.activationBlocks(for: type) else {
            for kernels in GPUTestDevice.bothLayouts {
                try kernels.multiply(type, weights: weights, input: input, output: output, rows: rows, columns: columns,
                                     batch: batch)
                try checkOutput(type, packed: packed, gpu: try output.readFloats(count: batch * rows), x: x, rows: rows,
                                columns: columns, batch: batch, extraMagnitude: extraMagnitude, layout: kernels.matvecLayout)
            }
            return
        }
        let quantized = try device.makeBuffer(bytes: blocks.bytes(count: batch * columns))
        try kernels.roundActivations(blocks, input: input, output: quantized, count: batch * columns)
        for kernels in GPUTestDevice.bothLayouts + [GPUTestDevice.rowwiseWithoutFloat64].compactMap({ $0 }) {
            try kernels.multiply(type, weights: weights, input: quantized, output: output, rows: rows, columns: columns,
                                 batch: batch)
            try checkQuantizedOutput(type, packed: packed, gpu: try output.readFloats(count: batch * rows), x: x,
                                     rows: rows, columns: columns, batch: batch, extraMagnitude: extraMagnitude, kernels: kernels)
        }
    }

    /// A quantized product against the CPU engine's (`Matmul`, invariant numerics): the same bits
    /// from the one-invocation-per-row builds with exact fused multiply-adds, which take the CPU's
    /// integer sums and float steps in its order; within 1e-5·Σ m_i·|x_i| from the others (the
    /// same integer sums per block, their float steps in another order or with the product of a
    /// multiply-add rounded).
    func checkQuantizedOutput(_ type: GGMLType, packed: [UInt8], gpu: [Float], x: [Float], rows: Int, columns: Int,
                              batch: Int, extraMagnitude: (Int, Int) -> Double, kernels: VulkanKernels) throws {
        let layout = kernels.matvecLayout
        let exact = layout == .invocationPerRow && kernels.usesFloat64
        let cpu = packed.withUnsafeBytes {
            cpuProduct(type: type, weights: $0.baseAddress!, rows: rows, columns: columns, x: x, batch: batch)
        }
        let rowBytes = columns / type.blockSize * type.typeSize
        var w = [Float](repeating: 0, count: columns)
        var worst = 0.0, differing = 0
        for r in 0..<rows {
            try packed.withUnsafeBytes {
                try Dequantize.row(type, $0.baseAddress! + r * rowBytes, count: columns, into: &w)
            }
            for n in 0..<batch {
                let g = gpu[n * rows + r], c = cpu[n * rows + r]
                if g.bitPattern != c.bitPattern { differing += 1 }
                if exact {
                    #expect(g.bitPattern == c.bitPattern, "\(type) \(layout) exact [\(n)][\(r)]: gpu \(g) vs CPU \(c)")
                    continue
                }
                var magnitude = 0.0
                for i in 0..<columns { magnitude += (abs(Double(w[i])) + extraMagnitude(r, i)) * abs(Double(x[n * columns + i])) }
                #expect(abs(Double(g) - Double(c)) <= 1e-5 * magnitude, "\(type) \(layout) [\(n)][\(r)]: gpu \(g) vs CPU \(c)")
                worst = max(worst, abs(Double(g) - Double(c)) / max(magnitude, .leastNormalMagnitude))
            }
        }
        print("\(type) \(layout)\(exact ? " f64" : "") \(rows)×\(columns)×\(batch): \(differing) of \(rows * batch) results differ from the CPU's bits"
              + (exact ? "" : ", |gpu − cpu| ≤ \(worst)·Σ m|x|"))
    }

    /// `roundActivations` against the CPU's quantization, bit for bit (steps, quants, and Q8_K's
    /// sums of 16), on rows with a zero block, blocks whose largest magnitude is negative and whose
    /// other values lie halfway between steps (ties to even), and a block of tiny values.
    @Test(arguments: [GGMLType.q8_0, .q8_K])
    func roundActivationsEqualCPUQuantization(format: GGMLType) throws {
        let device = kernels.device
        // Blocks 4… are random at scales 2⁻⁸…2⁸: their steps come from inexact divisions, which a
        // device that divides through a reciprocal rounds differently (lavapipe's f32 division did).
        let count = 20 * 256
        var x = randomFloats(count, seed: 61).enumerated().map { i, v in v * 3 * Float(sign: .plus, exponent: i / 256 - 12, significand: 1) }
        for i in 0..<1024 { x[i] = x[i] / Float(sign: .plus, exponent: -12, significand: 1) }
        for i in 256..<288 { x[i] = 0 }          // a zero block of either size's first 32
        // Halves with −127 the largest magnitude: the step is exactly 1 in that Q8_K block and in the
        // Q8_0 block holding it (512…543), where every other element is a tie, rounded to even.
        for i in 512..<768 { x[i] = Float(i % 11) - 5.5 }
        x[512] = -127
        for i in 768..<1024 { x[i] = x[i] * 1e-30 }
        if format == .q8_K { for i in 256..<512 { x[i] = 0 } }
        let blocks: VulkanKernels.ActivationBlocks = format == .q8_0 ? .q8_0 : .q8_K
        let input = try device.makeBuffer(bytes: count * 4), output = try device.makeBuffer(bytes: blocks.bytes(count: count))
        try input.write(x)
        try kernels.roundActivations(blocks, input: input, output: output, count: count)
        let gpu = output.contents.assumingMemoryBound(to: UInt32.self)
        var bytes = [UInt8](repeating: 0, count: ActivationQuantization.rowBytes(format, count: count))
        bytes.withUnsafeMutableBytes { b in
            x.withUnsafeBufferPointer { ActivationQuantization.quantize($0.baseAddress!, count: count, format: format, into: b.baseAddress!) }
        }
        // The CPU's blocks as the device lays them out: d as f32 bits, quants four to a word (the
        // lowest-addressed in the low bits), Q8_K's int16 sums widened to 32 bits.
        var cpu = [UInt32]()
        func word(_ p: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[p + $1]) << (8 * $1) } }
        for b in 0..<count / blocks.blockSize {
            if format == .q8_0 {
                let p = b * 34
                cpu.append(Float(Float16(bitPattern: UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8)).bitPattern)
                for k in 0..<8 { cpu.append(word(p + 2 + 4 * k)) }
            } else {
                let p = b * 292
                cpu.append(word(p))
                for k in 0..<64 { cpu.append(word(p + 4 + 4 * k)) }
                for g in 0..<16 {
                    cpu.append(UInt32(bitPattern: Int32(Int16(bitPattern: UInt16(bytes[p + 260 + 2 * g]) | UInt16(bytes[p + 261 + 2 * g]) << 8))))
                }
            }
        }
        #expect(cpu.count == count / blocks.blockSize * blocks.wordsPerBlock)
        // (Without exact division, `_f64`, the device's own may put a step or a quant off: no
        // device here lacks 64-bit floats, so that build is only compiled.)
        guard kernels.usesFloat64 else {
            print("roundActivations: the device has no 64-bit floats; its blocks are not compared bit for bit")
            return
        }
        for i in 0..<cpu.count {
            #expect(gpu[i] == cpu[i], "\(format) word \(i) (block \(i / blocks.wordsPerBlock)): gpu \(gpu[i]) vs CPU \(cpu[i])")
        }
        #expect { try kernels.roundActivations(.q8_K, input: input, output: output, count: 100) } throws: {
            ($0 as? VulkanError)?.message.contains("multiple of 256") == true
        }
    }

    /// The checks of `checkProduct` on one layout's output, for float weights (which meet the
    /// activations unrounded on the CPU too).
    func checkOutput(_ type: GGMLType, packed: [UInt8], gpu: [Float], x: [Float], rows: Int, columns: Int, batch: Int,
                     extraMagnitude: (Int, Int) -> Double, layout: VulkanKernels.MatvecLayout) throws {
        let cpu = packed.withUnsafeBytes {
            cpuProduct(type: type, weights: $0.baseAddress!, rows: rows, columns: columns, x: x, batch: batch)
        }
        let rowBytes = columns / type.blockSize * type.typeSize
        var w = [Float](repeating: 0, count: columns)
        for r in 0..<rows {
            try packed.withUnsafeBytes {
                try Dequantize.row(type, $0.baseAddress! + r * rowBytes, count: columns, into: &w)
            }
            for n in 0..<batch {
                var exact = 0.0, magnitude = 0.0
                for i in 0..<columns {
                    let wi = Double(w[i]), xi = Double(x[n * columns + i])
                    exact += wi * xi
                    magnitude += (abs(wi) + extraMagnitude(r, i)) * abs(xi)
                }
                let g = Double(gpu[n * rows + r]), c = Double(cpu[n * rows + r])
                #expect(abs(g - exact) <= 1e-4 * magnitude, "\(type) \(layout) [\(n)][\(r)]: gpu \(g) vs float64 \(exact)")
                #expect(abs(g - c) <= 1e-4 * magnitude, "\(type) \(layout) [\(n)][\(r)]: gpu \(g) vs CPU \(c)")
            }
        }
    }

    /// Q8_0 rows as the CPU quantizes them (ActivationQuantization writes GGUF's Q8_0 blocks).
    @Test(arguments: [(rows: 96, columns: 512, batch: 3), (rows: 37, columns: 4096, batch: 1), (rows: 1, columns: 32, batch: 2),
                      (rows: 70, columns: 64, batch: 19)])
    func q8_0(shape: (rows: Int, columns: Int, batch: Int)) throws {
        let (rows, columns, batch) = shape
        let rowBytes = columns / 32 * GGMLType.q8_0.typeSize
        let source = randomFloats(rows * columns, seed: 21)
        var packed = [UInt8](repeating: 0, count: rows * rowBytes)
        packed.withUnsafeMutableBytes { bytes in
            source.withUnsafeBufferPointer {
                for r in 0..<rows {
                    ActivationQuantization.quantize($0.baseAddress! + r * columns, count: columns, format: .q8_0,
                                                    into: bytes.baseAddress! + r * rowBytes)
                }
            }
        }
        try checkProduct(.q8_0, packed: packed, rows: rows, columns: columns, batch: batch, seed: 22)
    }

    /// F16 weights (finite random halves in ±[2⁻⁴, 2)); an odd column count puts rows mid-word.
    @Test(arguments: [(rows: 20, columns: 333, batch: 2), (rows: 7, columns: 64, batch: 1), (rows: 5, columns: 10, batch: 19)])
    func f16(shape: (rows: Int, columns: Int, batch: Int)) throws {
        let (rows, columns, batch) = shape
        var generator = SplitMix(seed: 91)
        var packed = [UInt8]()
        for _ in 0..<rows * columns {
            let bits = UInt16(generator.next() & 0x83FF) | UInt16(11 + generator.next() % 5) << 10
            packed += [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
        try checkProduct(.f16, packed: packed, rows: rows, columns: columns, batch: batch, seed: 92)
    }

    /// Q4_0: [d f16][qs 16]; d in [2⁻⁶, 2⁻⁵). 18-byte blocks end mid-word.
    @Test(arguments: [(rows: 45, columns: 800, batch: 3), (rows: 1, columns: 32, batch: 1), (rows: 3, columns: 64, batch: 19)])
    func q4_0(shape: (rows: Int, columns: Int, batch: Int)) throws {
        let (rows, columns, batch) = shape
        let blocks = randomBlocks(.q4_0, blocks: rows * columns / 32, seed: 95, halves: [(0, -6)])
        try checkProduct(.q4_0, packed: blocks.bytes, rows: rows, columns: columns, batch: batch, seed: 96)
    }

    /// Q5_0: [d f16][qh 4][qs 16]; d in [2⁻⁶, 2⁻⁵). Odd block counts end rows mid-word.
    @Test(arguments: [(rows: 50, columns: 640, batch: 4), (rows: 3, columns: 96, batch: 1), (rows: 1, columns: 32, batch: 1),
                      (rows: 66, columns: 64, batch: 19), (rows: 24, columns: 640, batch: 9)])
    func q5_0(shape: (rows: Int, columns: Int, batch: Int)) throws {
        let (rows, columns, batch) = shape
        let blocks = randomBlocks(.q5_0, blocks: rows * columns / 32, seed: 51, halves: [(0, -6)])
        try checkProduct(.q5_0, packed: blocks.bytes, rows: rows, columns: columns, batch: batch, seed: 52)
    }

    /// Q4_K: [d][dmin][scales 12][qs 128]; d in [2⁻⁸, 2⁻⁷), dmin in [2⁻⁹, 2⁻⁸).
    @Test(arguments: [(rows: 40, columns: 2048, batch: 2), (rows: 3, columns: 256, batch: 1), (rows: 65, columns: 256, batch: 19),
                      (rows: 24, columns: 1024, batch: 9)])
    func q4_K(shape: (rows: Int, columns: Int, batch: Int)) throws {
        let (rows, columns, batch) = shape
        let perRow = columns / 256
        let blocks = randomBlocks(.q4_K, blocks: rows * perRow, seed: 41, halves: [(0, -8), (2, -9)])
        try checkProduct(.q4_K, packed: blocks.bytes, rows: rows, columns: columns, batch: batch, seed: 42) { r, i in
            126 * blocks.halves[r * perRow + i / 256][1]
        }
    }

    /// Q5_K: [d][dmin][scales 12][qh 32][qs 128]; d in [2⁻⁸, 2⁻⁷), dmin in [2⁻⁹, 2⁻⁸). Random qh
    /// bytes set the fifth bit of about half the quants, so both halves of 0…31 are exercised.
    @Test(arguments: [(rows: 40, columns: 2048, batch: 2), (rows: 3, columns: 256, batch: 1), (rows: 65, columns: 256, batch: 19)])
    func q5_K(shape: (rows: Int, columns: Int, batch: Int)) throws {
        let (rows, columns, batch) = shape
        let perRow = columns / 256
        let blocks = randomBlocks(.q5_K, blocks: rows * perRow, seed: 43, halves: [(0, -8), (2, -9)])
        try checkProduct(.q5_K, packed: blocks.bytes, rows: rows, columns: columns, batch: batch, seed: 44) { r, i in
            126 * blocks.halves[r * perRow + i / 256][1]
        }
    }

    /// Q6_K: [ql 128][qh 64][scales 16 × i8][d]; d in [2⁻¹⁰, 2⁻⁹). 210-byte blocks end mid-word.
    @Test(arguments: [(rows: 33, columns: 1280, batch: 2), (rows: 1, columns: 256, batch: 1), (rows: 65, columns: 256, batch: 19),
                      (rows: 24, columns: 2048, batch: 9)])
    func q6_K(shape: (rows: Int, columns: Int, batch: Int)) throws {
        let (rows, columns, batch) = shape
        let blocks = randomBlocks(.q6_K, blocks: rows * columns / 256, seed: 61, halves: [(208, -10)])
        try checkProduct(.q6_K, packed: blocks.bytes, rows: rows, columns: columns, batch: batch, seed: 62)
    }
}
