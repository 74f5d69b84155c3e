import CNumerics
import Foundation

/// Chooses, on a CPU family nobody has measured, whether the packed kernels prefetch ahead of
/// their loads, by timing a model's own decode products both ways when the model loads.
///
/// Whether software prefetch helps depends on the core's hardware prefetcher: on Intel Emerald
/// Rapids it lifts decode from ~77% to ~100% of the read-bandwidth bound, on AMD Zen 4 the kernels
/// reach the bound without it. Those families are a table in `prefetch.c`; any other CPU starts
/// without and is measured here once per process, with the first model whose products stream
/// from memory rather than from the last-level cache. Prefetching changes speed only, never a
/// result, so the choice can differ from run to run on a noisy host without changing an answer.
public enum PrefetchCalibration {
    /// The distance tried against none: 4 KiB measured best on Emerald Rapids (2 KiB a little
    /// short, 8 KiB the same).
    public static let candidate = 4096

    /// Alternating rounds of the two settings; the faster of each setting's rounds counts.
    static let rounds = 3

    /// The outcome of a measurement: each setting's best read rate over the products timed.
    public struct Measurement: Sendable, Equatable {
        public let bytes: Int
        public let withoutGBps: Double
        public let withGBps: Double
        public let chosen: Int
    }

    /// How this process's prefetch distance was chosen, for `cria bench` and the server's log.
    public enum Origin: Sendable, Equatable {
        /// Not x86: no kernel prefetches.
        case none
        /// A CPU family measured with and without (prefetch.c's table).
        case table
        /// `CRIA_PREFETCH=<bytes>`.
        case environment
        /// An unmeasured family that no model large enough to measure has loaded yet.
        case unmeasured
        /// Measured when a model loaded.
        case measured(Measurement)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var result: Measurement?

    public static var origin: Origin {
        if let done = lock.withLock({ result }) { return .measured(done) }
        switch cn_prefetch_origin() {
        case Int32(CN_PREFETCH_TABLE): return .table
        case Int32(CN_PREFETCH_ENV): return .environment
        case Int32(CN_PREFETCH_UNMEASURED): return .unmeasured
        default: return .none
        }
    }

    /// `cria bench`'s words for the distance in effect and where it came from.
    public static var summary: String {
        let distance = "prefetch \(KernelDispatch.prefetchDistance) bytes ahead"
        switch origin {
        case .none: return distance
        case .table: return distance + " (this CPU family's measured choice)"
        case .environment: return distance + " (CRIA_PREFETCH)"
        case .unmeasured: return distance + " (an unmeasured CPU family; no model large enough to measure it has loaded)"
        case .measured(let m):
            return distance + String(format: " (measured at load over %.0f MB of products: none %.1f GB/s, %d bytes %.1f GB/s)",
                                     Double(m.bytes) / 1e6, m.withoutGBps, candidate, m.withGBps)
        }
    }

    /// Prefetch when its best time beats the best time without by at least 5%: a smaller gain
    /// is within what a shared host's noise gives either way, and the kernels were tuned without.
    public static func prefers(withSeconds: Double, withoutSeconds: Double) -> Bool {
        withSeconds > 0 && withoutSeconds > 0 && withSeconds <= 0.95 * withoutSeconds
    }

    /// The matrices to time: in the order given, until they hold `4 ×` the last-level cache (at
    /// least 256 MB, at most 1 GiB, so a large model's load takes well under a second more), or
    /// nil when all of them together are under twice the cache — read from it, they would say
    /// nothing about memory.
    static func selection(_ matrices: [WeightMatrix], lastLevelCache: Int) -> [WeightMatrix]? {
        let budget = min(max(4 * lastLevelCache, 256 << 20), 1 << 30)
        var chosen: [WeightMatrix] = [], bytes = 0
        for w in matrices where w.packed != nil {
            chosen.append(w)
            bytes += w.rows * w.rowBytes
            if bytes >= budget { break }
        }
        return bytes >= 2 * lastLevelCache && !chosen.isEmpty ? chosen : nil
    }

    /// Measures and sets the distance if this CPU's is still unmeasured: `matrices` are a decode
    /// step's products in the order a step runs them (those with packed copies are timed, one row
    /// each, with `threads` of `pool`'s threads). Returns the measurement when it ran now.
    /// `lastLevelCache` defaults to what Linux reports (32 MiB when it does not say).
    @discardableResult
    public static func calibrateIfUnmeasured(_ matrices: [WeightMatrix], pool: ComputePool, threads: Int, path: KernelPath,
                                             lastLevelCache: Int? = nil) -> Measurement? {
        guard path != .portable else { return nil }
        lock.lock()
        defer { lock.unlock() }
        guard result == nil, cn_prefetch_origin() == Int32(CN_PREFETCH_UNMEASURED) else { return nil }
        guard let timed = selection(matrices, lastLevelCache: lastLevelCache ?? CacheSize.lastLevel() ?? 32 << 20) else { return nil }
        let done = measure(timed, pool: pool, threads: threads, path: path)
        cn_set_prefetch_distance(Int32(done.chosen))
        result = done
        return done
    }

    /// Times one pass over `matrices` (one row each) without and with prefetching, alternating.
    static func measure(_ matrices: [WeightMatrix], pool: ComputePool, threads: Int, path: KernelPath) -> Measurement {
        let width = matrices.map(\.columns).max() ?? 0, height = matrices.map(\.rows).max() ?? 0
        let input = UnsafeMutablePointer<Float>.allocate(capacity: width)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: height)
        defer { input.deallocate(); output.deallocate() }
        for i in 0..<width { input[i] = Float(sin(Double(i) * 0.37)) }
        let saved = pool.activeThreads
        pool.activeThreads = threads
        defer { pool.activeThreads = saved }
        func pass(_ distance: Int) -> Double {
            cn_set_prefetch_distance(Int32(distance))
            let start = DispatchTime.now().uptimeNanoseconds
            for w in matrices { Matmul.multiply(w, input, batch: 1, into: output, pool: pool, path: path) }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        _ = pass(0)  // maps the pages in
        var without = Double.infinity, with = Double.infinity
        for round in 0..<rounds {
            if round % 2 == 0 {
                without = min(without, pass(0)); with = min(with, pass(candidate))
            } else {
                with = min(with, pass(candidate)); without = min(without, pass(0))
            }
        }
        let bytes = matrices.reduce(0) { $0 + $1.rows * $1.rowBytes }
        return Measurement(bytes: bytes, withoutGBps: Double(bytes) / without / 1e9, withGBps: Double(bytes) / with / 1e9,
                           chosen: prefers(withSeconds: with, withoutSeconds: without) ? candidate : 0)
    }
}
