import CNumerics
import Foundation
import Testing
import GGUF
@testable import CriaNumerics

/// The load-time prefetch measurement for CPU families without a measured choice
/// (PrefetchCalibration): its rule, which matrices it times, and a real measurement over packed
/// products. Speeds are not asserted (a shared host decides them), only that the choice follows
/// the rule from what was measured and that no result changes.
@Suite(.serialized) struct PrefetchCalibrationTests {
    @Test func prefetchingMustWinByFivePercent() {
        #expect(PrefetchCalibration.prefers(withSeconds: 0.90, withoutSeconds: 1.0))
        #expect(PrefetchCalibration.prefers(withSeconds: 0.95, withoutSeconds: 1.0))
        #expect(!PrefetchCalibration.prefers(withSeconds: 0.96, withoutSeconds: 1.0))
        #expect(!PrefetchCalibration.prefers(withSeconds: 1.2, withoutSeconds: 1.0))
        #expect(!PrefetchCalibration.prefers(withSeconds: 0, withoutSeconds: 1.0), "a zero time is no measurement")
        #expect(!PrefetchCalibration.prefers(withSeconds: 0.5, withoutSeconds: 0))
    }

    /// Matrices of `mb` MB each (Q8_0, 1088 bytes a row); `packed` marks them as having a packed
    /// copy (never read by `selection`).
    static func matrices(_ sizes: [Int], packed: Bool = true) -> [WeightMatrix] {
        let dummy = UnsafeRawPointer(bitPattern: 64)!
        return sizes.map { mb in
            var w = WeightMatrix(type: .q8_0, rows: mb * 1_000_000 / 1088, columns: 1024, data: dummy)
            if packed { w.packed = dummy }
            return w
        }
    }

    @Test func timesOnlyWhatStreamsFromMemory() throws {
        let mib = 1 << 20
        // Under twice the cache in all: nothing a measurement could learn about memory.
        #expect(PrefetchCalibration.selection(Self.matrices([10, 10, 10]), lastLevelCache: 32 * mib) == nil)
        #expect(PrefetchCalibration.selection(Self.matrices([100, 100], packed: false), lastLevelCache: 32 * mib) == nil,
                "only matrices with packed copies (what the prefetching kernels read) count")
        // In order, until four times the cache but at least 256 MB: 30 × 10 MB matrices.
        let some = try #require(PrefetchCalibration.selection(Self.matrices(Array(repeating: 10, count: 40)), lastLevelCache: 32 * mib))
        #expect(some.count == 27)  // 27 × 9.999 MB ≥ 256 MiB
        // A large cache: four times it, capped at 1 GiB.
        let capped = try #require(PrefetchCalibration.selection(Self.matrices(Array(repeating: 100, count: 40)), lastLevelCache: 512 * mib))
        #expect(capped.count == 11)
        // A model that holds more than twice the cache but less than the budget: all of it.
        #expect(PrefetchCalibration.selection(Self.matrices([40, 40]), lastLevelCache: 32 * mib)?.count == 2)
    }

    /// A real measurement over packed Q8_0 products (from the cache here: this checks the
    /// procedure, not a speed), and the same outputs at every distance it tried.
    @Test func measuresPackedProductsBothWaysAndChoosesByTheRule() throws {
        guard let path = KernelDispatch.available.last(where: { PackedWeights.supports(.q8_0, path: $0) }) else {
            print("PrefetchCalibrationTests: no kernel path of this CPU packs Q8_0 (nothing prefetches); skipped")
            return
        }
        let c = KernelTests.makeCase(.q8_0, rows: 2048, tokens: 1, seed: 77)
        let store = PackedWeights()
        let pool = ComputePool(threads: 2)
        let saved = KernelDispatch.prefetchDistance
        defer { cn_set_prefetch_distance(Int32(saved)) }
        try c.weights.withUnsafeBytes { wb in
            let w = store.pack(WeightMatrix(type: .q8_0, rows: c.rows, columns: c.k, data: wb.baseAddress!), path: path)
            try #require(w.packed != nil)
            func product() -> [Float] {
                var y = [Float](repeating: .nan, count: c.rows)
                c.x.withUnsafeBufferPointer { x in
                    y.withUnsafeMutableBufferPointer { Matmul.multiply(w, x.baseAddress!, batch: 1, into: $0.baseAddress!, pool: pool, path: path) }
                }
                return y
            }
            cn_set_prefetch_distance(0)
            let plain = product()
            let m = PrefetchCalibration.measure([w, w, w], pool: pool, threads: 2, path: path)
            #expect(m.bytes == 3 * c.rows * w.rowBytes)
            #expect(m.withoutGBps > 0 && m.withoutGBps.isFinite && m.withGBps > 0 && m.withGBps.isFinite)
            let expected = PrefetchCalibration.prefers(withSeconds: 1 / m.withGBps, withoutSeconds: 1 / m.withoutGBps)
            #expect(m.chosen == (expected ? PrefetchCalibration.candidate : 0))
            cn_set_prefetch_distance(Int32(PrefetchCalibration.candidate))
            #expect(product() == plain, "prefetching changes no result")
        }
    }

    /// Only a CPU family without a measured choice is measured, once per process.
    @Test func measuresOnlyUnmeasuredFamiliesOnce() throws {
        let origin = PrefetchCalibration.origin
        guard case .unmeasured = origin else {
            // A table family, CRIA_PREFETCH, not x86, or already measured: nothing to do.
            #expect(PrefetchCalibration.calibrateIfUnmeasured(Self.matrices([400]), pool: ComputePool(threads: 1), threads: 1,
                                                              path: KernelDispatch.best, lastLevelCache: 1 << 20) == nil)
            return
        }
        // Unmeasured here (e.g. AMD Zen 3): a real measurement, then no second one.
        guard let path = KernelDispatch.available.last(where: { PackedWeights.supports(.q8_0, path: $0) }) else { return }
        let c = KernelTests.makeCase(.q8_0, rows: 2048, tokens: 1, seed: 78)
        let store = PackedWeights()
        let pool = ComputePool(threads: 2)
        try c.weights.withUnsafeBytes { wb in
            let w = store.pack(WeightMatrix(type: .q8_0, rows: c.rows, columns: c.k, data: wb.baseAddress!), path: path)
            let m = try #require(PrefetchCalibration.calibrateIfUnmeasured([w, w], pool: pool, threads: 2, path: path,
                                                                         lastLevelCache: 64 << 10))
            #expect(KernelDispatch.prefetchDistance == m.chosen)
            #expect(PrefetchCalibration.origin == .measured(m))
            #expect(PrefetchCalibration.calibrateIfUnmeasured([w, w], pool: pool, threads: 2, path: path, lastLevelCache: 64 << 10) == nil)
        }
    }
}
