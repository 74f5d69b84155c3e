import CNumerics
import Foundation
import Testing
import GGUF
@testable import CriaNumerics
import TestSupport

/// Packed Q4_K, Q5_K, IQ4_XS, Q3_K, Q2_K, Q5_0, Q8_0, Q4_0, MXFP4 and Q6_K (16-row groups, `PackedWeights`) against the stored-layout kernels: the same
/// bits for every output, whatever the batch size, the row range a thread gets, or a matrix
/// viewed as a part of another. Random weights with small positive scales (KernelTests.makeCase),
/// activations with outliers; the stored kernels are themselves checked against the float64
/// reference and the portable dot in KernelTests.
@Suite struct PackedWeightsTests {
    /// 45 rows: two whole groups and 13 rows the stored kernel keeps; 1…13 tokens: single rows,
    /// tiles, remainders and the many-token chunking (Q8_0's packed kernel and Q5_0's in llama.cpp's
    /// lane order serve up to 4 rows, as Q4_0's, Q5_0's block totals every batch; the direct
    /// call below runs where the packed kernel serves). Q5_0 in both of its orders.
    @Test(arguments: [GGMLType.q4_K, .q5_K, .iq4_xs, .q3_K, .q2_K, .q5_0, .q8_0, .q4_0, .mxfp4, .q6_K], [1, 2, 3, 4, 5, 9, 13])
    func packedProductEqualsStoredProduct(_ type: GGMLType, _ tokens: Int) throws {
        let paths = Self.paths(type)
        if paths.isEmpty { print("PackedWeightsTests: no kernel path of this CPU packs \(type.name); skipped") }
        let orders: [RowOrder] = type == .q5_0 ? [[], .q0Lanes] : [[]]
        for path in paths {
            for order in orders { try packedProductEqualsStoredProduct(type, tokens, path: path, order: order) }
        }
    }

    /// The paths of this CPU that pack `type` (AVX-512 machines check their AVX2 kernels too).
    static func paths(_ type: GGMLType) -> [KernelPath] {
        KernelDispatch.available.filter { PackedWeights.supports(type, path: $0) }
    }

    func packedProductEqualsStoredProduct(_ type: GGMLType, _ tokens: Int, path: KernelPath, order: RowOrder) throws {
        let orders = [RowOrder](repeating: order, count: tokens)
        let c = KernelTests.makeCase(type, rows: 45, tokens: tokens, seed: 4242 + UInt64(tokens) + UInt64(type.rawValue))
        let store = PackedWeights()
        let pool = ComputePool(threads: 2)
        let format = try #require(ActivationQuantization.format(for: type))
        let aBytes = ActivationQuantization.rowBytes(format, count: c.k)
        var a = [UInt8](repeating: 0, count: aBytes * tokens)
        var stored = [Float](repeating: .nan, count: tokens * c.rows)
        var packed = [Float](repeating: .infinity, count: tokens * c.rows)
        var direct = [Float](repeating: .infinity, count: tokens * c.rows)
        try c.weights.withUnsafeBytes { wb in
            let w = WeightMatrix(type: type, rows: c.rows, columns: c.k, data: wb.baseAddress!)
            let p = store.pack(w, path: path)
            #expect(p.packed != nil)
            #expect(store.byteCount == 2 * PackedWeights.groupBytes(type, columns: c.k))
            c.x.withUnsafeBufferPointer { xb in
                stored.withUnsafeMutableBufferPointer {
                    Matmul.multiply(w, xb.baseAddress!, batch: tokens, into: $0.baseAddress!, pool: pool, path: path, orders: orders)
                }
                packed.withUnsafeMutableBufferPointer {
                    Matmul.multiply(p, xb.baseAddress!, batch: tokens, into: $0.baseAddress!, pool: pool, path: path, orders: orders)
                }
                a.withUnsafeMutableBytes { ab in
                    for t in 0..<tokens {
                        ActivationQuantization.quantize(xb.baseAddress! + t * c.k, count: c.k, format: format, into: ab.baseAddress! + t * aBytes)
                    }
                }
            }
            if PackedWeights.uses(type, batch: tokens, orders: orders, path: path) {
                a.withUnsafeBytes { ab in
                    direct.withUnsafeMutableBufferPointer {
                        PackedWeights.multiply(p, groups: 0..<2, ab.baseAddress!, aStride: aBytes, batch: tokens, into: $0.baseAddress!,
                                               yStride: c.rows, path: path, order: order)
                    }
                }
                for t in 0..<tokens {
                    for r in 0..<32 {
                        let i = t * c.rows + r
                        #expect(direct[i].bitPattern == stored[i].bitPattern, "\(type.name) t\(t) r\(r) \(path) \(order): packed kernel \(direct[i]) vs stored \(stored[i])")
                    }
                }
            }
            _ = try #require(stored.first)
            // A copy made on this path, multiplied on another (an AVX-512 CPU's AVX2 kernels): the
            // layouts are the same, so the other path's packed kernel, with the same bits.
            for other in KernelDispatch.available where other != path {
                var elsewhere = [Float](repeating: .infinity, count: tokens * c.rows)
                c.x.withUnsafeBufferPointer { xb in
                    elsewhere.withUnsafeMutableBufferPointer {
                        Matmul.multiply(p, xb.baseAddress!, batch: tokens, into: $0.baseAddress!, pool: pool, path: other, orders: orders)
                    }
                }
                #expect(elsewhere.map(\.bitPattern) == stored.map(\.bitPattern), "\(type.name) packed for \(path), multiplied on \(other) \(order)")
            }
        }
        for t in 0..<tokens {
            for r in 0..<c.rows {
                let i = t * c.rows + r
                #expect(packed[i].bitPattern == stored[i].bitPattern, "\(type.name) t\(t) r\(r) \(path) \(order): packed \(packed[i]) vs stored \(stored[i])")
            }
        }
    }

    /// MXFP4's packed scales are converted from E8M0 in vectors: the exponents 0 and 1 (which
    /// stand for the subnormal halves 2^−128 and 2^−127) and the largest ones must come out as
    /// the row kernel's, so the products agree bit for bit there too.
    @Test func packedMXFP4KeepsEveryExponent() throws {
        for path in Self.paths(.mxfp4) {
            var c = KernelTests.makeCase(.mxfp4, rows: 32, tokens: 3, seed: 606)
            let rowBytes = c.k / 32 * 17
            let exponents: [UInt8] = [0, 1, 2, 3, 100, 127, 160, 200]
            for r in 0..<c.rows {
                // one exponent per row, so the subnormal rows' tiny products are not lost in larger ones
                for b in 0..<(c.k / 32) { c.weights[r * rowBytes + b * 17] = exponents[r % exponents.count] }
            }
            let store = PackedWeights()
            let pool = ComputePool(threads: 1)
            var stored = [Float](repeating: .nan, count: c.tokens * c.rows)
            var packed = [Float](repeating: .infinity, count: c.tokens * c.rows)
            c.weights.withUnsafeBytes { wb in
                let w = WeightMatrix(type: .mxfp4, rows: c.rows, columns: c.k, data: wb.baseAddress!)
                let p = store.pack(w, path: path)
                #expect(p.packed != nil)
                c.x.withUnsafeBufferPointer { xb in
                    stored.withUnsafeMutableBufferPointer {
                        Matmul.multiply(w, xb.baseAddress!, batch: c.tokens, into: $0.baseAddress!, pool: pool, path: path)
                    }
                    packed.withUnsafeMutableBufferPointer {
                        Matmul.multiply(p, xb.baseAddress!, batch: c.tokens, into: $0.baseAddress!, pool: pool, path: path)
                    }
                }
            }
            #expect(stored.allSatisfy { $0.isFinite })
            #expect(stored.contains { $0 != 0 && abs($0) < 1e-30 }, "the rows with subnormal scales give tiny, nonzero outputs")
            #expect(stored.map(\.bitPattern) == packed.map(\.bitPattern), "MXFP4 \(path)")
        }
    }

    /// A part of a packed matrix that starts on a group boundary keeps the packed copy (and the
    /// same results); one that does not falls back to the stored rows. Row ranges that cut
    /// groups (one thread per odd range) give the same bits as one call.
    @Test func partsAndRowRangesKeepTheBits() throws {
        for path in Self.paths(.q4_K) { try partsAndRowRangesKeepTheBits(path: path) }
    }

    func partsAndRowRangesKeepTheBits(path: KernelPath) throws {
        let c = KernelTests.makeCase(.q4_K, rows: 64, tokens: 3, seed: 77)
        let store = PackedWeights()
        c.weights.withUnsafeBytes { wb in
            let w = WeightMatrix(type: .q4_K, rows: c.rows, columns: c.k, data: wb.baseAddress!)
            let p = store.pack(w, path: path)
            #expect(p.rows(16, 32).packed != nil)
            #expect(p.rows(8, 32).packed == nil)
            #expect(store.pack(w, path: path).packed == p.packed, "a matrix packed twice shares its copy")
            #expect(store.pack(w, path: .portable).packed == nil)
            let format = GGMLType.q8_K
            let aBytes = ActivationQuantization.rowBytes(format, count: c.k)
            var a = [UInt8](repeating: 0, count: aBytes * c.tokens)
            c.x.withUnsafeBufferPointer { xb in
                a.withUnsafeMutableBytes { ab in
                    for t in 0..<c.tokens {
                        ActivationQuantization.quantize(xb.baseAddress! + t * c.k, count: c.k, format: format, into: ab.baseAddress! + t * aBytes)
                    }
                }
            }
            a.withUnsafeBytes { ab in
                var whole = [Float](repeating: .nan, count: c.tokens * c.rows)
                var pieces = [Float](repeating: .infinity, count: c.tokens * c.rows)
                whole.withUnsafeMutableBufferPointer {
                    Matmul.multiplyRows(w, 0..<c.rows, ab.baseAddress!, batch: c.tokens, activationFormat: format,
                                        into: $0.baseAddress!, path: path)
                }
                pieces.withUnsafeMutableBufferPointer { yb in
                    for range in [0..<5, 5..<21, 21..<40, 40..<48, 48..<64] {
                        Matmul.multiplyRows(p, range, ab.baseAddress!, batch: c.tokens, activationFormat: format,
                                            into: yb.baseAddress!, path: path)
                    }
                }
                #expect(zip(whole, pieces).allSatisfy { $0.bitPattern == $1.bitPattern })
                // the middle part on its own rows
                var part = [Float](repeating: .nan, count: c.tokens * 32)
                part.withUnsafeMutableBufferPointer {
                    Matmul.multiplyRows(p.rows(16, 32), 0..<32, ab.baseAddress!, batch: c.tokens, activationFormat: format,
                                        into: $0.baseAddress!, path: path)
                }
                for t in 0..<c.tokens {
                    for r in 0..<32 { #expect(part[t * 32 + r].bitPattern == whole[t * c.rows + 16 + r].bitPattern) }
                }
            }
        }
    }

    /// Rows that ask for llama.cpp's repacked-gemm order take the stored kernel (which has it).
    @Test func llamaGemmOrderRowsUseTheStoredKernel() throws {
        for path in Self.paths(.q4_K) { try llamaGemmOrderRowsUseTheStoredKernel(path: path) }
    }

    func llamaGemmOrderRowsUseTheStoredKernel(path: KernelPath) throws {
        let c = KernelTests.makeCase(.q4_K, rows: 32, tokens: 4, seed: 91)
        let store = PackedWeights()
        let pool = ComputePool(threads: 1)
        let orders = [RowOrder](repeating: .repackedQ4K, count: c.tokens)
        var stored = [Float](repeating: .nan, count: c.tokens * c.rows)
        var packed = [Float](repeating: .infinity, count: c.tokens * c.rows)
        var plain = [Float](repeating: .infinity, count: c.tokens * c.rows)
        c.weights.withUnsafeBytes { wb in
            let w = WeightMatrix(type: .q4_K, rows: c.rows, columns: c.k, data: wb.baseAddress!)
            let p = store.pack(w, path: path)
            c.x.withUnsafeBufferPointer { xb in
                orders.withUnsafeBufferPointer { ob in
                    stored.withUnsafeMutableBufferPointer {
                        Matmul.multiply(w, xb.baseAddress!, batch: c.tokens, into: $0.baseAddress!, pool: pool, path: path, orders: ob.baseAddress!)
                    }
                    packed.withUnsafeMutableBufferPointer {
                        Matmul.multiply(p, xb.baseAddress!, batch: c.tokens, into: $0.baseAddress!, pool: pool, path: path, orders: ob.baseAddress!)
                    }
                }
                plain.withUnsafeMutableBufferPointer {
                    Matmul.multiply(p, xb.baseAddress!, batch: c.tokens, into: $0.baseAddress!, pool: pool, path: path)
                }
            }
        }
        #expect(zip(stored, packed).allSatisfy { $0.bitPattern == $1.bitPattern })
        // and the orders differ somewhere, so the check above could fail
        #expect(zip(stored, plain).contains { $0.bitPattern != $1.bitPattern })
    }

    /// Every row of a packed copy (every packed format) comes back as its stored bytes, so a row read
    /// from the copy (an embedding lookup) dequantizes to the stored row's values.
    /// The largest integers a packed kernel can meet: every weight byte 0xFF (largest nibbles, fifth
    /// bits, 6-bit scales and mins) or 0x00 (IQ4_XS's most negative value, −127) against activations
    /// that quantize to all −127 or all 127 (Q8_K's and Q8_0's extremes: the 16-bit pair sums of the
    /// AVX2 kernels at their limit). Random cases never get near them.
    @Test(arguments: [GGMLType.q4_K, .q5_K, .iq4_xs, .q3_K, .q2_K, .q5_0, .q8_0, .q4_0, .mxfp4, .q6_K])
    func extremeValuesKeepTheBits(_ type: GGMLType) throws {
        for fill: UInt8 in [0xFF, 0x00] { try extremeValuesKeepTheBits(type, fill: fill) }
    }

    func extremeValuesKeepTheBits(_ type: GGMLType, fill: UInt8) throws {
        var c = KernelTests.makeCase(type, rows: 32, tokens: 6, seed: 8080)
        var rng = SplitMix(seed: 8081)
        c.weights = [UInt8](repeating: fill, count: c.weights.count)
        for b in 0..<(c.rows * c.k / type.blockSize) { KernelTests.setScales(type, &c.weights, block: b, rng: &rng) }
        c.x = (0..<c.tokens * c.k).map { i in i / c.k % 2 == 0 ? -1 : 1 }
        let pool = ComputePool(threads: 2)
        for path in Self.paths(type) {
            let store = PackedWeights()
            for tokens in [1, 2, 6] {
                var stored = [Float](repeating: .nan, count: tokens * c.rows)
                var packed = [Float](repeating: .infinity, count: tokens * c.rows)
                c.weights.withUnsafeBytes { wb in
                    let w = WeightMatrix(type: type, rows: c.rows, columns: c.k, data: wb.baseAddress!)
                    let p = store.pack(w, path: path)
                    c.x.withUnsafeBufferPointer { xb in
                        Matmul.multiply(w, xb.baseAddress!, batch: tokens, into: &stored, pool: pool, path: path)
                        Matmul.multiply(p, xb.baseAddress!, batch: tokens, into: &packed, pool: pool, path: path)
                    }
                }
                #expect(stored.allSatisfy { $0.isFinite }, "\(type.name) \(path) fill \(fill)")
                #expect(zip(stored, packed).allSatisfy { $0.bitPattern == $1.bitPattern },
                        "\(type.name) \(path) fill \(fill), \(tokens) rows: packed \(packed.prefix(3)) vs stored \(stored.prefix(3))")
            }
        }
    }

    @Test(arguments: [GGMLType.q8_0, .q5_0, .q4_0, .mxfp4, .q4_K, .q5_K, .iq4_xs, .q3_K, .q2_K, .q6_K])
    func packedRowsRebuildTheStoredBytes(_ type: GGMLType) throws {
        for path in Self.paths(type) { try packedRowsRebuildTheStoredBytes(type, path: path) }
    }

    func packedRowsRebuildTheStoredBytes(_ type: GGMLType, path: KernelPath) throws {
        let c = KernelTests.makeCase(type, rows: 40, tokens: 1, seed: 515 + UInt64(type.rawValue))
        let store = PackedWeights()
        try c.weights.withUnsafeBytes { wb in
            let w = WeightMatrix(type: type, rows: c.rows, columns: c.k, data: wb.baseAddress!)
            let p = store.pack(w, path: path)
            let packed = try #require(p.packed)
            var rebuilt = [UInt8](repeating: 0, count: w.rowBytes)
            for r in 0..<32 {
                let ok = rebuilt.withUnsafeMutableBytes {
                    cn_packed_stored_row(Int32(type.rawValue), packed, Int32(c.k / type.blockSize), Int32(r), $0.baseAddress!)
                }
                #expect(ok == 1)
                #expect(rebuilt == Array(c.weights[r * w.rowBytes..<(r + 1) * w.rowBytes]), "\(type.name) row \(r)")
            }
            var fromPacked = [Float](repeating: .nan, count: c.k), fromStored = [Float](repeating: .infinity, count: c.k)
            for r in [0, 17, 31, 35] {  // 35: past the last whole group, read as stored
                fromPacked.withUnsafeMutableBufferPointer { p.dequantizeRow(r, into: $0.baseAddress!) }
                fromStored.withUnsafeMutableBufferPointer { w.dequantizeRow(r, into: $0.baseAddress!) }
                #expect(fromPacked.map(\.bitPattern) == fromStored.map(\.bitPattern))
            }
        }
    }
}
