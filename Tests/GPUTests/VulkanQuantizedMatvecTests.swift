import CriaNumerics
import GGUF
import GPU
import TestSupport
import Testing

/// The F16 and quantized matrix products (F16, Q4_0, Q8_0, Q5_0, Q4_K, Q5_K, Q6_K weights; one or
/// several activation rows) against the CPU, on matrices in GGUF's block layout. Each result is checked twice:
/// - against the float64 dot of the row as `Dequantize.row` decodes it (the shader's math in
///   higher precision): |gpu − exact| ≤ 1e-4·Σ m_i·|x_i|, where m_i bounds the magnitude of the
///   terms the shader adds for element i (|w_i| when it adds (d·s)·q·x; Q4_K and Q5_K also
///   subtract min·x, so |w_i| + 2·63·dmin there);
/// - against `Matmul.multiply`, the CPU engine's kernel, which for quantized weights first rounds the activations to
///   8 bits per block (Q8_0 blocks of 32 with an f16 step for Q8_0/Q5_0 weights, Q8_K blocks of
///   256 with an f32 step for the K formats): each x̂ is within 0.6·step of x (half a step, plus
///   the f16 rounding of the step), so |gpu − cpu| ≤ Σ|w_i|·0.6·step + the bound above.
/// For quantized weights the product is also run on the activations as `roundActivations`
/// rounds them (what the offloaded forward pass does): then only the order of f32 additions
/// differs from the CPU's integer dot, |gpu − cpu| ≤ 1e-5·Σ m_i·|x_i|.
/// `roundActivations` itself must give, bit for bit, the CPU's 8-bit blocks decoded back to f32.
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
        let blocks = Self.activationBlocks(type)
        let roundedInput = try device.makeBuffer(bytes: batch * columns * 4)
        if let blocks { try kernels.roundActivations(blocks, input: input, output: roundedInput, count: batch * columns) }
        #expect(GPUTestDevice.bothLayouts.count == 2)
        for kernels in GPUTestDevice.bothLayouts {
            try kernels.multiply(type, weights: weights, input: input, output: output, rows: rows, columns: columns,
                                 batch: batch)
            try checkOutput(type, packed: packed, gpu: try output.readFloats(count: batch * rows), x: x, rows: rows,
                            columns: columns, batch: batch, extraMagnitude: extraMagnitude, layout: kernels.matvecLayout)
            guard blocks != nil else { continue }
            try kernels.multiply(type, weights: weights, input: roundedInput, output: output, rows: rows, columns: columns,
                                 batch: batch)
            try checkRoundedOutput(type, packed: packed, gpu: try output.readFloats(count: batch * rows), x: x,
                                   rows: rows, columns: columns, batch: batch, extraMagnitude: extraMagnitude,
                                   layout: kernels.matvecLayout)
        }
    }

    static func activationBlocks(_ type: GGMLType) -> VulkanKernels.ActivationBlocks? {
        switch ActivationQuantization.format(for: type) {
        case .q8_0: .q8_0
        case .q8_K: .q8_K
        default: nil
        }
    }

    /// A product on rounded activations against the CPU's: within 1e-5·Σ m_i·|x_i|.
    func checkRoundedOutput(_ type: GGMLType, packed: [UInt8], gpu: [Float], x: [Float], rows: Int, columns: Int,
                            batch: Int, extraMagnitude: (Int, Int) -> Double, layout: VulkanKernels.MatvecLayout) throws {
        let cpu = packed.withUnsafeBytes {
            cpuProduct(type: type, weights: $0.baseAddress!, rows: rows, columns: columns, x: x, batch: batch)
        }
        let rowBytes = columns / type.blockSize * type.typeSize
        var w = [Float](repeating: 0, count: columns)
        var worst = 0.0
        for r in 0..<rows {
            try packed.withUnsafeBytes {
                try Dequantize.row(type, $0.baseAddress! + r * rowBytes, count: columns, into: &w)
            }
            for n in 0..<batch {
                var magnitude = 0.0
                for i in 0..<columns { magnitude += (abs(Double(w[i])) + extraMagnitude(r, i)) * abs(Double(x[n * columns + i])) }
                let g = Double(gpu[n * rows + r]), c = Double(cpu[n * rows + r])
                #expect(abs(g - c) <= 1e-5 * magnitude, "\(type) \(layout) rounded [\(n)][\(r)]: gpu \(g) vs CPU \(c)")
                worst = max(worst, abs(g - c) / max(magnitude, .leastNormalMagnitude))
            }
        }
        print("\(type) \(layout) \(rows)×\(columns)×\(batch) on rounded activations: |gpu − cpu| ≤ \(worst)·Σ m|x|")
    }

    /// `roundActivations` against the CPU's quantization decoded back to f32, bit for bit, on rows
    /// with a zero block, blocks whose largest magnitude is negative and whose other values lie
    /// halfway between steps (ties to even), and a block of tiny values.
    @Test(arguments: [GGMLType.q8_0, .q8_K])
    func roundActivationsEqualCPUQuantization(format: GGMLType) throws {
        let device = kernels.device
        let count = 4 * 256
        var x = randomFloats(count, seed: 61).map { $0 * 3 }
        for i in 256..<288 { x[i] = 0 }          // a zero block of either size's first 32
        // Halves with −127 the largest magnitude: the step is exactly 1 for both formats, so every
        // other element is a tie, rounded to even.
        for i in 512..<768 { x[i] = Float(i % 11) - 5.5 }
        x[512] = -127
        for i in 768..<1024 { x[i] = x[i] * 1e-30 }
        if format == .q8_K { for i in 256..<512 { x[i] = 0 } }
        let input = try device.makeBuffer(bytes: count * 4), output = try device.makeBuffer(bytes: count * 4)
        try input.write(x)
        try kernels.roundActivations(format == .q8_0 ? .q8_0 : .q8_K, input: input, output: output, count: count)
        let gpu = try output.readFloats(count: count)
        var bytes = [UInt8](repeating: 0, count: ActivationQuantization.rowBytes(format, count: count))
        var cpu = [Float](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { b in
            x.withUnsafeBufferPointer { ActivationQuantization.quantize($0.baseAddress!, count: count, format: format, into: b.baseAddress!) }
            try Dequantize.row(format, b.baseAddress!, count: count, into: &cpu)
        }
        for i in 0..<count {
            #expect(gpu[i].bitPattern == cpu[i].bitPattern, "\(format) [\(i)] of \(x[i]): gpu \(gpu[i]) vs CPU \(cpu[i])")
        }
        #expect(gpu[256..<288].allSatisfy { $0 == 0 })
        #expect { try kernels.roundActivations(.q8_K, input: input, output: output, count: 100) } throws: {
            ($0 as? VulkanError)?.message.contains("multiple of 256") == true
        }
    }

    /// The checks of `checkProduct` on one layout's output.
    func checkOutput(_ type: GGMLType, packed: [UInt8], gpu: [Float], x: [Float], rows: Int, columns: Int, batch: Int,
                     extraMagnitude: (Int, Int) -> Double, layout: VulkanKernels.MatvecLayout) throws {
        let cpu = packed.withUnsafeBytes {
            cpuProduct(type: type, weights: $0.baseAddress!, rows: rows, columns: columns, x: x, batch: batch)
        }
        // Float weights meet the activations unrounded on the CPU too (no step, any column count).
        let rounded = ActivationQuantization.format(for: type) != nil
        let activationBlock = !rounded ? 1 : type.blockSize == 256 ? 256 : 32
        let rowBytes = columns / type.blockSize * type.typeSize
        var w = [Float](repeating: 0, count: columns)
        for r in 0..<rows {
            try packed.withUnsafeBytes {
                try Dequantize.row(type, $0.baseAddress! + r * rowBytes, count: columns, into: &w)
            }
            for n in 0..<batch {
                let xn = x[n * columns..<(n + 1) * columns]
                var exact = 0.0, magnitude = 0.0, activationError = 0.0
                for start in stride(from: 0, to: columns, by: activationBlock) {
                    let step = Double(xn[xn.startIndex + start..<xn.startIndex + start + activationBlock].map(abs).max()!) / 127
                    for i in start..<start + activationBlock {
                        let wi = Double(w[i]), xi = Double(xn[xn.startIndex + i])
                        exact += wi * xi
                        magnitude += (abs(wi) + extraMagnitude(r, i)) * abs(xi)
                        activationError += rounded ? abs(wi) * 0.6 * step : 0
                    }
                }
                let g = Double(gpu[n * rows + r]), c = Double(cpu[n * rows + r])
                #expect(abs(g - exact) <= 1e-4 * magnitude, "\(type) \(layout) [\(n)][\(r)]: gpu \(g) vs float64 \(exact)")
                #expect(abs(g - c) <= activationError + 1e-4 * magnitude, "\(type) \(layout) [\(n)][\(r)]: gpu \(g) vs CPU \(c)")
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
