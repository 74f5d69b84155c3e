import CNumerics
import Foundation

/// Chooses, on a CPU family nobody has measured, whether the packed kernels prefetch ahead of
/// their loads, by timing a model's own decode products both ways when the model loads.
///
/// Whether software prefetch helps depends on the core's hardware prefetcher: on Intel Emerald
/// Rapids it lifts decode from ~77% to ~100% of the read-bandwidth bound, on AMD Zen 4 the kernels
/// reach the bound without it. Those families are a table in `prefetch.c`; any other CPU starts
/// without and is measured here once per process, with the first model whose products stream
/// from memory rather than from the last-level cache (`CRIA_PREFETCH=auto`: the first model,
/// whatever its size). Prefetching changes speed only, never a result, so the choice can differ
/// from run to run on a noisy host without changing an answer.
public final class PrefetchCalibration: @unchecked Sendable {
    /// The distance tried against none: 4 KiB measured best on Emerald Rapids (2 KiB a little
    /// short, 8 KiB the same).
    public static let candidate = 4096

    /// Alternating rounds of the two settings; the best pass of each setting counts.
    static let rounds = 3

    /// The process's calibration (the distance it sets is the process's).
    public static let shared = PrefetchCalibration()

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
        /// An unmeasured family (or `CRIA_PREFETCH=auto`) that no model has measured yet; the
        /// reason the last model loaded did not, if one did load.
        case unmeasured(String?)
        /// Measured when a model loaded.
        case measured(Measurement)
    }

    private let lock = NSLock()
    private var result: Measurement?
    private var declined: String?

    init() {}

    /// Why the last model that loaded did not measure (nil: none declined).
    var declinedReason: String? { lock.withLock { declined } }

    public var origin: Origin {
        let (done, reason) = lock.withLock { (result, declined) }
        if let done { return .measured(done) }
        switch cn_prefetch_origin() {
        case Int32(CN_PREFETCH_TABLE): return .table
        case Int32(CN_PREFETCH_ENV): return .environment
        case Int32(CN_PREFETCH_UNMEASURED), Int32(CN_PREFETCH_AUTO): return .unmeasured(reason)
        default: return .none
        }
    }

    /// `cria bench`'s and the server log's words for the distance in effect and where it came from.
    public var summary: String {
        let distance = "prefetch \(KernelDispatch.prefetchDistance) bytes ahead"
        switch origin {
        case .none: return distance
        case .table: return distance + " (this CPU family's measured choice)"
        case .environment: return distance + " (CRIA_PREFETCH)"
        case .unmeasured(let reason): return distance + " (an unmeasured CPU family, not measured: \(reason ?? "no model has loaded"))"
        case .measured(let m):
            return distance + " (measured at load over \(Self.megabytes(m.bytes)) MB of products: none "
                + String(format: "%.2f GB/s, \(Self.candidate) bytes %.2f GB/s)", m.withoutGBps, m.withGBps)
        }
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.0f", Double(bytes) / 1e6) }

    /// Prefetch when its best time beats the best time without by at least 5%: a smaller gain
    /// is within what a shared host's noise gives either way, and the kernels were tuned without.
    public static func prefers(withSeconds: Double, withoutSeconds: Double) -> Bool {
        withSeconds > 0 && withoutSeconds > 0 && withSeconds <= 0.95 * withoutSeconds
    }

    /// The matrices to time (those with packed copies, which the prefetching kernels read), in the
    /// order given, until they hold four times the last-level cache — at least 256 MiB, at most
    /// 1 GiB unless twice the cache is more — and their bytes; `selected` is empty when all of
    /// them together hold less than twice the cache (read from it, they would say nothing about
    /// memory) and `anySize` is false.
    static func selection(_ matrices: [WeightMatrix], lastLevelCache: Int, anySize: Bool = false)
        -> (selected: [WeightMatrix], bytes: Int) {
        let budget = max(min(max(4 * lastLevelCache, 256 << 20), 1 << 30), 2 * lastLevelCache)
        var chosen: [WeightMatrix] = [], bytes = 0
        for w in matrices where w.packed != nil {
            chosen.append(w)
            bytes += w.rows * w.rowBytes
            if bytes >= budget { break }
        }
        return (anySize || bytes >= 2 * lastLevelCache ? chosen : [], bytes)
    }

    /// Measures and sets the distance if this CPU's is still unmeasured (`unmeasured`: what
    /// prefetch.c says): `matrices` (built only then) are a decode step's products in the order a
    /// step runs them, timed one row each with `threads` of `pool`'s threads. Returns the
    /// measurement when it ran now; otherwise records why not, for `summary`. `lastLevelCache`
    /// defaults to what Linux reports (32 MiB when it does not say).
    @discardableResult
    public func calibrateIfUnmeasured(_ matrices: @autoclosure () -> [WeightMatrix], pool: ComputePool, threads: Int, path: KernelPath,
                                      packed: Bool = KernelDispatch.packsWeights, lastLevelCache: Int? = nil,
                                      unmeasured: Int32 = cn_prefetch_origin()) -> Measurement? {
        guard unmeasured == Int32(CN_PREFETCH_UNMEASURED) || unmeasured == Int32(CN_PREFETCH_AUTO) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        guard result == nil else { return nil }
        guard path != .portable else {
            declined = "the portable kernels do not prefetch"
            return nil
        }
        guard packed else {
            declined = "CRIA_PACK=off: the stored-layout kernels do not prefetch"
            return nil
        }
        let cache = lastLevelCache ?? CacheSize.lastLevel() ?? 32 << 20
        let (timed, bytes) = Self.selection(matrices(), lastLevelCache: cache, anySize: unmeasured == Int32(CN_PREFETCH_AUTO))
        guard !timed.isEmpty else {
            declined = bytes == 0 ? "the model has no packed products"
                : "the model's decode products, \(Self.megabytes(bytes)) MB, are under twice the last-level cache, \(Self.megabytes(cache)) MB"
            return nil
        }
        let done = Self.measure(timed, pool: pool, threads: threads, path: path)
        cn_set_prefetch_distance(Int32(done.chosen))
        result = done
        return done
    }

    /// Times one pass over `matrices` (one row each) without and with prefetching, alternating,
    /// and leaves the distance at the last setting timed.
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
