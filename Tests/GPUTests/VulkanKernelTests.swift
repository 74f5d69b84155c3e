import CVulkan
import CriaNumerics
import Foundation
import GGUF
@testable import GPU
import TestSupport
import Testing

/// The F32 product, RMS norm, gated activations and RoPE against the CPU (a float64 reference computed here, and Cria's
/// own kernels, Matmul.multiply and VectorMath.rmsNorm, with the tolerance stated at each
/// check), the dispatch grid, and the kernels' shape checks. Quantized products:
/// VulkanQuantizedMatvecTests. Runs on the
/// preferred Vulkan device (lavapipe on CI); skipped, with one printed line, where there is none.
@Suite(.enabled(if: GPUTestDevice.available, "no Vulkan device (see the printed line)"))
struct VulkanKernelTests {
    let kernels = GPUTestDevice.kernels!
    var device: VulkanDevice { kernels.device }

    func buffer(_ values: [Float]) throws -> VulkanBuffer {
        let buffer = try device.makeBuffer(bytes: values.count * 4)
        try buffer.write(values)
        return buffer
    }

    // Float accumulation over k terms in f32 errs by at most about k·2⁻²⁴·Σ|w·x|. With 64
    // invocations per row, strided partial sums and the tree cut k to columns/64 + 6, so
    // 1e-5·Σ|w·x| holds with room up to ~10⁴ columns; one invocation per row sums all columns in
    // order, so its bound is columns·2⁻²⁴ (at least 1e-5).
    @Test(arguments: [(rows: 300, columns: 1000, batch: 1), (rows: 5, columns: 64, batch: 7), (rows: 1, columns: 3, batch: 2),
                      (rows: 67, columns: 40, batch: 19)])
    func matvecF32MatchesFloat64AndCPU(shape: (rows: Int, columns: Int, batch: Int)) throws {
        #expect(GPUTestDevice.bothLayouts.count == 2)
        for kernels in GPUTestDevice.bothLayouts {
            try checkF32Product(shape, kernels: kernels)
        }
    }

    func checkF32Product(_ shape: (rows: Int, columns: Int, batch: Int), kernels: VulkanKernels) throws {
        let (rows, columns, batch) = shape
        let bound = kernels.matvecLayout == .workgroupPerRow ? 1e-5 : max(1e-5, Double(columns) * 0x1p-24)
        let w = randomFloats(rows * columns, seed: 11), x = randomFloats(batch * columns, seed: 12)
        let output = try device.makeBuffer(bytes: batch * rows * 4)
        try kernels.multiply(.f32, weights: buffer(w), input: buffer(x), output: output, rows: rows, columns: columns,
                             batch: batch)
        let gpu = try output.readFloats(count: batch * rows)
        let cpu = w.withUnsafeBytes {
            cpuProduct(type: .f32, weights: $0.baseAddress!, rows: rows, columns: columns, x: x, batch: batch)
        }
        for n in 0..<batch {
            for r in 0..<rows {
                var exact = 0.0, magnitude = 0.0
                for k in 0..<columns {
                    let term = Double(w[r * columns + k]) * Double(x[n * columns + k])
                    exact += term
                    magnitude += abs(term)
                }
                let g = Double(gpu[n * rows + r]), c = Double(cpu[n * rows + r])
                #expect(abs(g - exact) <= bound * magnitude, "\(kernels.matvecLayout) [\(n)][\(r)]: gpu \(g) vs float64 \(exact)")
                #expect(abs(g - c) <= (bound + 1e-5) * magnitude, "\(kernels.matvecLayout) [\(n)][\(r)]: gpu \(g) vs CPU \(c)")
            }
        }
    }

    /// A row's product is the same bits alone as inside a batch, in both layouts (the one-
    /// invocation-per-row build takes 8 activation rows at a time, each in its own order).
    @Test func batchedProductsEqualSingleRows() throws {
        let rows = 70, columns = 96, batch = 19
        let w = randomFloats(rows * columns, seed: 41), x = randomFloats(batch * columns, seed: 42)
        let weights = try buffer(w), input = try buffer(x)
        for kernels in GPUTestDevice.bothLayouts {
            let output = try device.makeBuffer(bytes: batch * rows * 4)
            try kernels.multiply(.f32, weights: weights, input: input, output: output, rows: rows, columns: columns, batch: batch)
            let all = try output.readFloats(count: batch * rows)
            for n in [0, 7, 8, 18] {
                let single = try device.makeBuffer(bytes: rows * 4)
                try kernels.multiply(.f32, weights: weights, input: buffer(Array(x[n * columns..<(n + 1) * columns])), output: single,
                                     rows: rows, columns: columns)
                #expect(try single.readFloats(count: rows) == Array(all[n * rows..<(n + 1) * rows]), "\(kernels.matvecLayout) row \(n)")
            }
        }
    }

    /// More rows than the first dispatch dimension takes (65535 on lavapipe): the rest go
    /// through the second, and every row is still written exactly once.
    @Test func matvecF32CoversRowsBeyondOneGridDimension() throws {
        let columns = 4
        let rows = device.info.maxWorkGroupCount.x + 37
        var w = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows { w[r * columns + r % columns] = Float(r % 1000) }
        let x: [Float] = [1, 1, 1, 1]
        let output = try device.makeBuffer(bytes: rows * 4)
        let weights = try buffer(w), input = try buffer(x)
        for kernels in GPUTestDevice.bothLayouts {
            try output.write([Float](repeating: -1, count: rows))
            try kernels.multiply(.f32, weights: weights, input: input, output: output, rows: rows, columns: columns)
            let y = try output.readFloats(count: rows)
            let wrong = (0..<rows).filter { y[$0] != Float($0 % 1000) }
            #expect(wrong.isEmpty, "\(kernels.matvecLayout): \(wrong.count) rows wrong, first \(wrong.first ?? -1)")
        }
    }

    // Per element, against float64 and against VectorMath.rmsNorm: the `_f64` build (where the
    // device has 64-bit floats, as lavapipe does) gives the CPU's bits; the f32 build is within
    // 2e-5 relative of float64 (an f32 sum of count squares errs by ~count/64·2⁻²⁴, inversesqrt
    // by 2 ulp, two products by 1 ulp each) and 4e-5 of the CPU.
    @Test(arguments: [true, false])
    func rmsNormMatchesFloat64AndCPU(float64: Bool) throws {
        guard !float64 || device.info.supportsFloat64 else {
            print("rms_norm_f64: \(device.info.name) has no 64-bit floats")
            return
        }
        let kernels = try VulkanKernels(device: device, float64: float64)
        let rows = 3, count = 1000
        let eps: Float = 1e-6
        let x = randomFloats(rows * count, seed: 31), weight = randomFloats(count, seed: 32)
        let output = try device.makeBuffer(bytes: rows * count * 4)
        try kernels.rmsNorm(input: buffer(x), weight: buffer(weight), output: output, rows: rows, count: count, eps: eps)
        let gpu = try output.readFloats(count: rows * count)
        var cpu = [Float](repeating: 0, count: count)
        for r in 0..<rows {
            let row = Array(x[r * count..<(r + 1) * count])
            VectorMath.rmsNorm(row, weight: weight, count: count, eps: eps, into: &cpu)
            let mean = row.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(count)
            let scale = 1 / (mean + Double(eps)).squareRoot()
            for i in 0..<count {
                let exact = Double(row[i]) * scale * Double(weight[i])
                let g = Double(gpu[r * count + i])
                #expect(abs(g - exact) <= 2e-5 * abs(exact) + 1e-30, "row \(r) [\(i)]: gpu \(g) vs float64 \(exact)")
                #expect(abs(g - Double(cpu[i])) <= 4e-5 * abs(exact) + 1e-30, "row \(r) [\(i)]: gpu \(g) vs CPU \(cpu[i])")
                if float64 { #expect(gpu[r * count + i].bitPattern == cpu[i].bitPattern, "row \(r) [\(i)]: not the CPU's bits") }
            }
        }
    }

    /// GEGLU and SwiGLU on gates across -8...8 plus saturating ones (±30, ±100), against the
    /// float64 functions: silu 1e-5·(|g| + |act(g)|)·|up| (f32 exp of a few ulp, a few
    /// roundings); gelu, whose input and output are rounded to f16 as on the CPU (2⁻¹¹ each, and
    /// gelu' ≤ 1.13), 2⁻⁹·(|g| + |act(g)|)·|up|. Against VectorMath.gatedActivation (the CPU):
    /// silu 1e-5 as above; gelu, read from the CPU's own table, bit for bit. Without the table
    /// gelu is refused.
    @Test(arguments: [VulkanKernels.GateActivation.gelu, .silu])
    func gatedActivationMatchesFloat64AndCPU(activation: VulkanKernels.GateActivation) throws {
        let count = 3000
        var gate = randomFloats(count, seed: 71).map { $0 * 8 }
        gate[0...5] = [30, -30, 100, -100, 0, -0.0]
        let up = randomFloats(count, seed: 72)
        let output = try device.makeBuffer(bytes: count * 4)
        let table = try device.makeBuffer(bytes: 65536 * 2)
        try VectorMath.geluF16Bits.withUnsafeBytes { try table.write($0) }
        try kernels.gatedActivation(activation, gate: buffer(gate), up: buffer(up), output: output, count: count,
                                    geluTable: table)
        let gpu = try output.readFloats(count: count)
        var cpu = [Float](repeating: 0, count: count)
        VectorMath.gatedActivation(gate: gate, up: up, count: count, activation: activation == .gelu ? .gelu : .silu,
                                   into: &cpu)
        for i in 0..<count {
            let g = Double(gate[i]), u = Double(up[i])
            let act = activation == .gelu
                ? 0.5 * g * (1 + tanh(0.7978845608028654 * g * (1 + 0.044715 * g * g)))
                : g / (1 + exp(-g))
            let scale = (abs(g) + abs(act)) * abs(u)
            #expect(gpu[i].isFinite, "[\(i)] gate \(g): \(gpu[i])")
            let exactTolerance = activation == .gelu ? scale / 512 : 1e-5 * scale
            #expect(abs(Double(gpu[i]) - act * u) <= exactTolerance + 1e-30, "[\(i)] gate \(g): gpu \(gpu[i]) vs float64 \(act * u)")
            if activation == .gelu {
                #expect(gpu[i].bitPattern == cpu[i].bitPattern, "[\(i)] gate \(g): gpu \(gpu[i]) vs CPU \(cpu[i])")
            } else {
                #expect(abs(Double(gpu[i]) - Double(cpu[i])) <= 1e-5 * scale + 1e-30, "[\(i)] gate \(g): gpu \(gpu[i]) vs CPU \(cpu[i])")
            }
        }
        if activation == .gelu {
            #expect { try kernels.gatedActivation(.gelu, gate: table, up: table, output: table, count: 4) } throws: {
                ($0 as? VulkanError)?.message.contains("gelu table") == true
            }
        }
    }

    /// RoPE on 3 rows (positions 0, 7, 1000) × 4 heads of 64, rotating 48 of them, against
    /// RoPE.apply with the same RoPE.angles table. Each output is x0·c ∓ x1·s with the first
    /// product fused on the CPU; the `_f64` build fuses it exactly (the CPU's bits, checked), while
    /// the device's own fma may round the product first (lavapipe's does), a few ulp of
    /// |x0·c| + |x1·s|: tolerance 4·2⁻²⁴·(|x0| + |x1|)·m per element (m = 1 here) without 64-bit
    /// floats. Elements past dims untouched.
    @Test(arguments: [VulkanKernels.RoPELayout.normal, .neox], [true, false])
    func ropeMatchesCPU(layout: VulkanKernels.RoPELayout, float64: Bool) throws {
        let kernels = try VulkanKernels(device: device, float64: float64 && device.info.supportsFloat64)
        let rows = 3, heads = 4, headDim = 64, dims = 48
        let positions: [Float] = [0, 7, 1000]
        let x = randomFloats(rows * heads * headDim, seed: 81)
        var angles = [Float](repeating: 0, count: rows * dims)
        for r in 0..<rows {
            angles.withUnsafeMutableBufferPointer {
                RoPE.angles(position: positions[r], dims: dims, base: 10000, into: $0.baseAddress! + r * dims)
            }
        }
        let vectors = try buffer(x)
        try kernels.rope(layout, vectors: vectors, angles: buffer(angles), rows: rows, heads: heads, headDim: headDim,
                         dims: dims)
        let gpu = try vectors.readFloats(count: x.count)
        var cpu = x
        for v in 0..<rows * heads {
            cpu.withUnsafeMutableBufferPointer { out in
                angles.withUnsafeBufferPointer {
                    RoPE.apply(out.baseAddress! + v * headDim, dims: dims, layout: layout == .neox ? .neox : .normal,
                               angles: $0.baseAddress! + (v / heads) * dims)
                }
            }
        }
        let half = dims / 2
        for v in 0..<rows * heads {
            for i in 0..<half {
                let (a, b) = layout == .neox ? (i, i + half) : (2 * i, 2 * i + 1)
                let bound = 4 * 0x1p-24 * Double(abs(x[v * headDim + a]) + abs(x[v * headDim + b]))
                for e in [a, b] {
                    let k = v * headDim + e
                    #expect(abs(Double(gpu[k]) - Double(cpu[k])) <= bound, "vector \(v) [\(e)]: gpu \(gpu[k]) vs CPU \(cpu[k])")
                    if kernels.usesFloat64 {
                        #expect(gpu[k].bitPattern == cpu[k].bitPattern, "vector \(v) [\(e)] (f64): gpu \(gpu[k]) vs CPU \(cpu[k])")
                    }
                }
            }
            for e in dims..<headDim {
                #expect(gpu[v * headDim + e] == x[v * headDim + e], "vector \(v) [\(e)] beyond dims changed")
            }
        }
        // Position 0 is the identity rotation.
        #expect(gpu[0..<headDim] == x[0..<headDim])
    }

    /// Rows 2…4 of a 6-row f32 source into rows 4…6 of a 10-row f16 destination, compared bit
    /// for bit with Swift's Float16(x) (round to nearest, ties to even): random values, ties at
    /// 1 + 2⁻¹¹ and 1 + 3·2⁻¹¹ (to 1 and 1 + 2⁻⁹), −0, the largest half, values that round to
    /// ±infinity, and subnormal halves. Every half outside the written rows keeps its sentinel.
    @Test func storeHalfRowsMatchesFloat16ConversionAndLeavesTheRestAlone() throws {
        let width = 6, sourceRows = 6, destinationRows = 10
        let sourceRow = 2, destinationRow = 4, rows = 3
        var source = randomFloats(sourceRows * width, seed: 111).map { $0 * 100 }
        let special: [Float] = [1 + 0x1p-11, 1 + 3 * 0x1p-11, -0.0, 65504, 65520, -70000,
                                1e-6, -3e-7, 0x1p-24, 0x1p-25 * 3, 0.1, -2.5]
        source.replaceSubrange(sourceRow * width..<sourceRow * width + special.count, with: special)
        let sentinel = Float16(-7.25)
        let initial = [Float16](repeating: sentinel, count: destinationRows * width)
        let destination = try device.makeBuffer(bytes: destinationRows * width * 2)
        try initial.withUnsafeBytes { try destination.write($0) }
        try kernels.storeHalfRows(source: buffer(source), sourceRow: sourceRow, destination: destination,
                                  destinationRow: destinationRow, rows: rows, width: width)
        let stored = Array(UnsafeBufferPointer(start: destination.contents.assumingMemoryBound(to: UInt16.self),
                                               count: destinationRows * width))
        for cell in 0..<destinationRows * width {
            let row = cell / width, j = cell % width
            if row >= destinationRow, row < destinationRow + rows {
                let x = source[(sourceRow + row - destinationRow) * width + j]
                #expect(stored[cell] == Float16(x).bitPattern,
                        "row \(row) [\(j)]: \(x) stored as 0x\(String(stored[cell], radix: 16)), Float16 gives 0x\(String(Float16(x).bitPattern, radix: 16))")
            } else {
                #expect(stored[cell] == sentinel.bitPattern, "row \(row) [\(j)] outside the written rows changed")
            }
        }
        #expect {
            try kernels.storeHalfRows(source: buffer(source), sourceRow: 0, destination: destination,
                                      destinationRow: 0, rows: 1, width: 5)
        } throws: { ($0 as? VulkanError)?.message.contains("even") == true }
        #expect {
            try kernels.storeHalfRows(source: buffer(source), sourceRow: 4, destination: destination,
                                      destinationRow: 0, rows: 3, width: width)
        } throws: { ($0 as? VulkanError)?.kind == .invalidArgument }
        #expect {
            try kernels.storeHalfRows(source: buffer(source), sourceRow: 0, destination: destination,
                                      destinationRow: 8, rows: 3, width: width)
        } throws: { ($0 as? VulkanError)?.kind == .invalidArgument }
    }

    /// A residual add (period = count, scale 1) and a bias add over rows of 40 (scale 0.37),
    /// against the same f32 operations in Swift, y + scale·a with two roundings: exactly equal
    /// (the shader marks them `precise`, so no fma contracts them).
    @Test(arguments: [(count: 1000, period: 1000, scale: Float(1)), (count: 1000, period: 40, scale: 0.37),
                      (count: 70000, period: 7, scale: -3.1)])
    func addScaledMatchesFloatArithmeticExactly(shape: (count: Int, period: Int, scale: Float)) throws {
        let (count, period, scale) = shape
        let a = randomFloats(period, seed: 121).map { $0 * 3 }
        let y = randomFloats(count, seed: 122)
        let accumulator = try buffer(y)
        try kernels.addScaled(buffer(a), into: accumulator, count: count, period: period, scale: scale)
        let gpu = try accumulator.readFloats(count: count)
        var mismatches = 0
        for i in 0..<count {
            let product: Float = scale * a[i % period]
            let expected: Float = y[i] + product
            if gpu[i].bitPattern != expected.bitPattern {
                mismatches += 1
                if mismatches <= 5 { Issue.record("[\(i)]: gpu \(gpu[i]) vs Swift \(expected)") }
            }
        }
        #expect(mismatches == 0)
        #expect {
            try kernels.addScaled(buffer(a), into: accumulator, count: 10, period: 11, scale: 1)
        } throws: { ($0 as? VulkanError)?.message.contains("period") == true }
    }

    @Test func buffersTooSmallForTheShapeAreErrors() throws {
        let small = try device.makeBuffer(bytes: 16)
        let output = try device.makeBuffer(bytes: 16)
        #expect {
            try kernels.multiply(.f32, weights: small, input: small, output: output, rows: 4, columns: 4)
        } throws: { ($0 as? VulkanError)?.kind == .invalidArgument }
        #expect {
            try kernels.multiply(.q8_0, weights: small, input: small, output: output, rows: 1, columns: 33)
        } throws: { ($0 as? VulkanError)?.kind == .invalidArgument }
        // A quantized product's input is 9 words per 32 activations (Q8_0 blocks), 81 per 256 (Q8_K):
        // one word short is refused, the exact size accepted.
        for (type, columns, words) in [(GGMLType.q8_0, 64, 18), (.q6_K, 256, 81)] {
            let weights = try device.makeBuffer(bytes: VulkanKernels.weightBufferBytes(type, rows: 1, columns: columns)!)
            #expect {
                try kernels.multiply(type, weights: weights, input: device.makeBuffer(bytes: 4 * words - 4), output: output,
                                     rows: 1, columns: columns)
            } throws: { ($0 as? VulkanError)?.message.contains("input needs \(4 * words) bytes") == true }
            try kernels.multiply(type, weights: weights, input: device.makeBuffer(bytes: 4 * words), output: output,
                                 rows: 1, columns: columns)
        }
        #expect {
            try kernels.multiply(.f32, weights: small, input: small, output: output, rows: 1, columns: 1, batch: 0)
        } throws: { ($0 as? VulkanError)?.message.contains("batch") == true }
        #expect {
            try kernels.multiply(.iq2_xxs, weights: small, input: small, output: output, rows: 1, columns: 256)
        } throws: { ($0 as? VulkanError)?.message.contains("no Vulkan matrix × vector shader") == true }
        #expect {
            try kernels.rmsNorm(input: small, weight: small, output: output, rows: 0, count: 4, eps: 1e-6)
        } throws: { ($0 as? VulkanError)?.kind == .invalidArgument }
    }

    @Test func impossibleBufferSizesAreErrors() {
        for bytes in [0, -1, device.info.maxStorageBufferBytes + 1] {
            #expect(throws: VulkanError.self) { try device.makeBuffer(bytes: bytes) }
        }
    }
}

/// The loader's view of the devices.
@Suite(.enabled(if: GPUTestDevice.available, "no Vulkan device (see the printed line)"))
struct VulkanDeviceTests {
    @Test func openedDeviceIsListedWithComputeAndMemory() throws {
        let opened = GPUTestDevice.kernels!.device.info
        let devices = try VulkanDevice.list()
        #expect(devices.contains(opened))
        #expect(opened.hasCompute)
        #expect(!opened.name.isEmpty)
        #expect(opened.apiVersion >> 22 & 0x7F >= 1)
        #expect(!opened.heaps.isEmpty && opened.heaps.allSatisfy { $0.bytes > 0 })
        #expect(opened.maxPushConstantBytes >= 128)  // Vulkan's required minimum
        #expect(opened.maxWorkGroupInvocations >= 128)
    }

    /// The C layer's checks on a real device: each bad argument is a status and a message.
    @Test func badPipelineArgumentsAreErrorsNotCrashes() throws {
        let device = GPUTestDevice.kernels!.device
        var error = CVKError()
        let notSPIRV: [UInt32] = [1, 2, 3, 4, 5, 6]
        #expect(cvk_pipeline_create(device.context, notSPIRV, notSPIRV.count, 3, 8, &error) == nil)
        #expect(VulkanError(error).kind == .invalidArgument && VulkanError(error).message.contains("not SPIR-V"))
        let words = try #require(VulkanShader.matvecF32.spirv())
        #expect(cvk_pipeline_create(device.context, words.baseAddress, words.count, 3, 6, &error) == nil)
        #expect(VulkanError(error).message.contains("multiple of 4"))
        #expect(cvk_pipeline_create(device.context, words.baseAddress, words.count, 0, 8, &error) == nil)
        #expect(VulkanError(error).kind == .invalidArgument)

        let pipeline = try device.makePipeline(.matvecF32)
        let buffer = try device.makeBuffer(bytes: 64)
        // Two buffers for a three-binding pipeline; too few push constants; a zero group count.
        #expect { try device.run(pipeline, buffers: [buffer, buffer], pushConstants: [1, 1], groups: (1, 1, 1)) }
            throws: { ($0 as? VulkanError)?.message.contains("binds 3 buffers") == true }
        #expect { try device.run(pipeline, buffers: [buffer, buffer, buffer], pushConstants: [1], groups: (1, 1, 1)) }
            throws: { ($0 as? VulkanError)?.message.contains("push constants") == true }
        #expect { try device.run(pipeline, buffers: [buffer, buffer, buffer], pushConstants: [1, 1, 1], groups: (0, 1, 1)) }
            throws: { ($0 as? VulkanError)?.kind == .invalidArgument }
        // And the same pipeline still runs afterwards: 1×1 product of 2·3 (rows, columns, batch 1).
        try buffer.write([2, 3])
        let x = try device.makeBuffer(bytes: 4), y = try device.makeBuffer(bytes: 4)
        try x.write([3])
        try device.run(pipeline, buffers: [buffer, x, y], pushConstants: [1, 1, 1], groups: (1, 1, 1))
        #expect(try y.readFloats(count: 1) == [6])
    }

    @Test func noSuchDeviceIndexIsAnError() throws {
        let count = try VulkanDevice.list().count
        #expect { try VulkanDevice(index: count) } throws: { ($0 as? VulkanError)?.kind == .noDevice }
        #expect { try VulkanDevice(index: -1) } throws: { ($0 as? VulkanError)?.kind == .noDevice }
    }
}
