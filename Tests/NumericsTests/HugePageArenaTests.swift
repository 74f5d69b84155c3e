import Foundation
import Testing
import GGUF
@testable import CriaNumerics

/// The huge-page arena that holds the load-time weight copies, and the stored rows moved into it
/// (`PackedWeights.moveStoredRows`): same bytes, same products, tied matrices sharing one copy,
/// and every moved byte handed to `release`.
@Suite struct HugePageArenaTests {
    @Test func allocationsAreAlignedDisjointAndZeroed() {
        let arena = HugePageArena()
        let sizes = [1, 63, 64, 1000, 3 << 20, 300 << 20, 17]  // the 300 MiB one takes a reservation of its own
        var blocks: [(UnsafeMutableRawPointer, Int)] = []
        for n in sizes {
            let p = arena.allocate(bytes: n)
            #expect(Int(bitPattern: p) % 64 == 0)
            let bytes = UnsafeMutableRawBufferPointer(start: p, count: n)
            #expect(bytes.allSatisfy { $0 == 0 }, "fresh memory reads as zeros")
            bytes.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: n))
            blocks.append((p, n))
        }
        for (p, n) in blocks {
            #expect(UnsafeRawBufferPointer(start: p, count: n).allSatisfy { $0 == UInt8(truncatingIfNeeded: n) }, "no block overlaps another")
        }
        #expect(arena.byteCount == sizes.reduce(0, +))
    }

    /// Where the kernel offers transparent huge pages (`enabled` is `always` or `madvise`), a
    /// touched 8 MiB copy lies on them: its smaps entry reports AnonHugePages.
    @Test func copiesLieOnHugePagesWhereTheKernelOffersThem() throws {
        let mode = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)) ?? ""
        guard mode.contains("[always]") || mode.contains("[madvise]") else {
            print("HugePageArenaTests: this kernel offers no transparent huge pages (\(mode.isEmpty ? "no THP" : mode)); only plain pages to check")
            return
        }
        let arena = HugePageArena()
        let n = 8 << 20
        let p = arena.allocate(bytes: n)
        UnsafeMutableRawBufferPointer(start: p, count: n).initializeMemory(as: UInt8.self, repeating: 1)
        // FileHandle: String(contentsOfFile:) stops after the first page of a /proc file
        let file = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        let smaps = String(decoding: try file.readToEnd() ?? Data(), as: UTF8.self)
        let address = UInt(bitPattern: Int(bitPattern: p))
        var inside = false, huge = -1
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), fields.count >= 5 {
                let ends = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = ends.count == 2 && ends[0] <= address && address < ends[1]
            } else if inside, fields.first == "AnonHugePages:", fields.count >= 2 {
                huge = Int(fields[1]) ?? -1
            }
        }
        #expect(huge >= 4096, "AnonHugePages of the arena's mapping: \(huge) kB of the 8192 touched")
    }

    @Test func movedRowsGiveTheSameBytesAndProducts() throws {
        let c = KernelTests.makeCase(.q5_1, rows: 40, tokens: 2, seed: 99)
        let store = PackedWeights()
        let pool = ComputePool(threads: 2)
        try c.weights.withUnsafeBytes { wb in
            let w = WeightMatrix(type: .q5_1, rows: c.rows, columns: c.k, data: wb.baseAddress!)
            var released = 0
            let moved = store.moveStoredRows(w, pool: pool) { _, n in released += n }
            #expect(moved.data != w.data)
            #expect(memcmp(moved.data, w.data, c.rows * w.rowBytes) == 0)
            #expect(released >= c.rows * w.rowBytes, "every stored byte is offered for release")
            #expect(store.moveStoredRows(w) { _, _ in }.data == moved.data, "a matrix moved twice (tied) shares its copy")
            var before = [Float](repeating: .nan, count: c.tokens * c.rows)
            var after = [Float](repeating: .infinity, count: c.tokens * c.rows)
            c.x.withUnsafeBufferPointer { xb in
                Matmul.multiply(w, xb.baseAddress!, batch: c.tokens, into: &before, pool: pool)
                Matmul.multiply(moved, xb.baseAddress!, batch: c.tokens, into: &after, pool: pool)
            }
            #expect(zip(before, after).allSatisfy { $0.bitPattern == $1.bitPattern })
            _ = try #require(before.first)
            let experts = ExpertWeights(type: .q5_1, count: 4, rows: 10, columns: c.k, data: wb.baseAddress!)
            let movedExperts = store.moveStoredRows(experts) { _, _ in }
            #expect(movedExperts.data != experts.data)
            #expect(memcmp(movedExperts.data, experts.data, 4 * experts.expertBytes) == 0)
        }
    }
}
