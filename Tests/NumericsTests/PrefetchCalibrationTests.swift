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
        // Under twice the cache in all: nothing a measurement could learn about memory, unless
        // asked to measure whatever the size (CRIA_PREFETCH=auto).
        let small = PrefetchCalibration.selection(Self.matrices([10, 10, 10]), lastLevelCache: 32 * mib)
        #expect(small.selected.isEmpty && small.bytes == 3 * 9_999_808)
        #expect(PrefetchCalibration.selection(Self.matrices([10, 10, 10]), lastLevelCache: 32 * mib, anySize: true).selected.count == 3)
        let unpacked = PrefetchCalibration.selection(Self.matrices([100, 100], packed: false), lastLevelCache: 32 * mib)
        #expect(unpacked.selected.isEmpty && unpacked.bytes == 0, "only matrices with packed copies (what the prefetching kernels read) count")
        // In order, until four times the cache but at least 256 MiB: 27 of 40 × 9.999808 MB.
        #expect(PrefetchCalibration.selection(Self.matrices(Array(repeating: 10, count: 40)), lastLevelCache: 32 * mib).selected.count == 27)
        // A large cache: four times it, capped at 1 GiB: 11 × 99.999168 MB.
        #expect(PrefetchCalibration.selection(Self.matrices(Array(repeating: 100, count: 40)), lastLevelCache: 512 * mib).selected.count == 11)
        // A cache so large that twice it is over 1 GiB: twice it (530 MiB: 1.11 GB, 12 × 99.999168 MB, where
        // 1 GiB would stop at 11).
        #expect(PrefetchCalibration.selection(Self.matrices(Array(repeating: 100, count: 40)), lastLevelCache: 530 * mib).selected.count == 12)
        #expect(PrefetchCalibration.selection(Self.matrices(Array(repeating: 100, count: 40)), lastLevelCache: 600 * mib).selected.count == 13)
        // A model that holds more than twice the cache but less than the budget: all of it.
        #expect(PrefetchCalibration.selection(Self.matrices([40, 40]), lastLevelCache: 32 * mib).selected.count == 2)
    }

    /// A packed Q8_0 matrix (`rows` × 512) for measuring, or nil where no kernel path packs Q8_0.
    static func packedCase(rows: Int, seed: UInt64, store: PackedWeights, body: (WeightMatrix, KernelPath, KernelTests.Case) throws -> Void)
        throws {
        guard let path = KernelDispatch.available.last(where: { PackedWeights.supports(.q8_0, path: $0) }) else {
            print("PrefetchCalibrationTests: no kernel path of this CPU packs Q8_0 (nothing prefetches); skipped")
            return
        }
        let c = KernelTests.makeCase(.q8_0, rows: rows, tokens: 1, seed: seed)
        try c.weights.withUnsafeBytes { wb in
            let w = store.pack(WeightMatrix(type: .q8_0, rows: c.rows, columns: c.k, data: wb.baseAddress!), path: path)
            try #require(w.packed != nil)
            try body(w, path, c)
        }
    }

    /// Whether the process's distance stays as a test sets it: not where a model loading in another
    /// suite meanwhile may be measuring (an unmeasured CPU family, CRIA_PREFETCH=auto).
    static var distanceIsStable: Bool {
        [Int32(CN_PREFETCH_TABLE), Int32(CN_PREFETCH_ENV)].contains(cn_prefetch_origin())
    }

    /// Puts back the distance in effect before a test: the one the process's calibration chose if it
    /// measured meanwhile, else `saved`.
    static func restore(_ saved: Int) {
        if case .measured(let m) = PrefetchCalibration.shared.origin { cn_set_prefetch_distance(Int32(m.chosen)) } else { cn_set_prefetch_distance(Int32(saved)) }
    }

    /// A real measurement over packed Q8_0 products (from the cache here: this checks the
    /// procedure, not a speed), and the same outputs at every distance it tried. It changes the
    /// process's distance while it runs (speed only), then puts back the one in effect.
    @Test func measuresPackedProductsBothWaysAndChoosesByTheRule() throws {
        let pool = ComputePool(threads: 2)
        let saved = KernelDispatch.prefetchDistance
        defer { Self.restore(saved) }
        try Self.packedCase(rows: 2048, seed: 77, store: PackedWeights()) { w, path, c in
            func product() -> [Float] {
                var y = [Float](repeating: .nan, count: c.rows)
                c.x.withUnsafeBufferPointer { x in
                    y.withUnsafeMutableBufferPointer { Matmul.multiply(w, x.baseAddress!, batch: 1, into: $0.baseAddress!, pool: pool, path: path) }
                }
                return y
            }
            cn_set_prefetch_distance(0)
            if Self.distanceIsStable { #expect(KernelDispatch.prefetchDistance == 0) }
            let plain = product()
            let m = PrefetchCalibration.measure([w, w, w], pool: pool, threads: 2, path: path)
            #expect(m.bytes == 3 * c.rows * w.rowBytes)
            #expect(m.withoutGBps > 0 && m.withoutGBps.isFinite && m.withGBps > 0 && m.withGBps.isFinite)
            let expected = PrefetchCalibration.prefers(withSeconds: 1 / m.withGBps, withoutSeconds: 1 / m.withoutGBps)
            #expect(m.chosen == (expected ? PrefetchCalibration.candidate : 0))
            cn_set_prefetch_distance(Int32(PrefetchCalibration.candidate))
            if Self.distanceIsStable { #expect(KernelDispatch.prefetchDistance == PrefetchCalibration.candidate, "the kernels read the distance set") }
            #expect(product() == plain, "prefetching changes no result")
            cn_set_prefetch_distance(100)
            if Self.distanceIsStable { #expect(KernelDispatch.prefetchDistance == PrefetchCalibration.candidate, "not a multiple of 64: ignored") }
        }
    }

    /// Only a CPU family without a measured choice is measured (here on a calibration of the
    /// test's own, so another suite's model loading meanwhile cannot have measured first), once,
    /// and a model too small for it, the portable path or unpacked weights say why not.
    @Test func measuresOnlyUnmeasuredFamiliesOnce() throws {
        let pool = ComputePool(threads: 2)
        let saved = KernelDispatch.prefetchDistance
        defer { Self.restore(saved) }
        for origin in [CN_PREFETCH_NONE, CN_PREFETCH_TABLE, CN_PREFETCH_ENV] {
            let calibration = PrefetchCalibration()
            #expect(calibration.calibrateIfUnmeasured(Self.matrices([400]), pool: pool, threads: 1, path: KernelDispatch.best,
                                                      lastLevelCache: 1 << 20, unmeasured: Int32(origin)) == nil)
        }
        try Self.packedCase(rows: 2048, seed: 78, store: PackedWeights()) { w, path, _ in
            let unmeasured = Int32(CN_PREFETCH_UNMEASURED)
            let calibration = PrefetchCalibration()
            #expect(calibration.calibrateIfUnmeasured([w, w], pool: pool, threads: 2, path: .portable, packed: true, lastLevelCache: 64 << 10,
                                                      unmeasured: unmeasured) == nil)
            #expect(calibration.declinedReason == "the portable kernels do not prefetch")
            #expect(calibration.calibrateIfUnmeasured([w, w], pool: pool, threads: 2, path: path, packed: false, lastLevelCache: 64 << 10,
                                                      unmeasured: unmeasured) == nil)
            #expect(calibration.declinedReason == "CRIA_PACK=off: the stored-layout kernels do not prefetch")
            #expect(calibration.calibrateIfUnmeasured([w, w], pool: pool, threads: 2, path: path, packed: true, lastLevelCache: 1 << 30,
                                                      unmeasured: unmeasured) == nil)
            #expect(calibration.declinedReason == "the model's decode products, 2 MB, are under twice the last-level cache, 1074 MB")
            let m = try #require(calibration.calibrateIfUnmeasured([w, w], pool: pool, threads: 2, path: path, packed: true, lastLevelCache: 64 << 10,
                                                                   unmeasured: unmeasured))
            #expect(m.bytes == 2 * w.rows * w.rowBytes)
            if Self.distanceIsStable { #expect(KernelDispatch.prefetchDistance == m.chosen) }
            #expect(calibration.calibrateIfUnmeasured([w, w], pool: pool, threads: 2, path: path, packed: true, lastLevelCache: 64 << 10,
                                                      unmeasured: unmeasured) == nil, "once")
            #expect(calibration.origin == .measured(m))
            #expect(calibration.summary.hasSuffix(String(format: "MB of products: none %.2f GB/s, 4096 bytes %.2f GB/s)", m.withoutGBps, m.withGBps)),
                    "\(calibration.summary)")
            // CRIA_PREFETCH=auto measures even what fits the cache.
            let auto = PrefetchCalibration()
            #expect(auto.calibrateIfUnmeasured([w], pool: pool, threads: 2, path: path, packed: true, lastLevelCache: 1 << 30,
                                               unmeasured: Int32(CN_PREFETCH_AUTO)) != nil)
        }
    }
}
