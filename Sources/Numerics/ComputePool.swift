import CNumerics

/// Runs data-parallel loops on the engine's persistent compute threads (a C pool: the caller is
/// worker 0; workers spin briefly between regions, then sleep), never on the Swift cooperative pool.
///
/// Work is split into contiguous ranges; each index is computed by exactly one task, and no
/// kernel's result depends on how ranges are split, so outputs are identical for any thread
/// count or batch shape.
public final class ComputePool: @unchecked Sendable {
    /// Threads the pool owns (including the caller).
    public let threadCount: Int
    /// Threads the next regions use (≤ threadCount): the model sets it per step (-t vs -tb).
    public var activeThreads: Int
    private let pool: OpaquePointer
    private var scratch: UnsafeMutableRawPointer?
    private var scratchBytes = 0

    public init(threads: Int) {
        pool = cn_pool_create(Int32(clamping: max(1, threads)))
        threadCount = Int(cn_pool_size(pool))
        activeThreads = threadCount
    }

    deinit {
        cn_pool_destroy(pool)
        scratch?.deallocate()
    }

    /// A reusable 64-byte-aligned buffer of at least `bytes` (grown, never shrunk), for kernels
    /// that run one at a time on this pool's caller (activation quantization).
    func scratch(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > scratchBytes || scratch == nil {
            scratch?.deallocate()
            scratchBytes = max(bytes, 4096)
            scratch = .allocate(byteCount: scratchBytes, alignment: 64)
        }
        return scratch!
    }

    /// Tests only: worker `id` (1 ..< threadCount) waits before entering any region until this is
    /// called with 0, standing in for a thread the OS leaves unscheduled.
    func holdWorker(_ id: Int) {
        cn_pool_hold_worker(pool, Int32(id))
    }

    /// Calls `body(range)` for disjoint ranges covering 0..<count, each starting at a multiple of
    /// `granule` (kernels that work on groups of rows).
    public func parallelFor(_ count: Int, minimumChunk: Int = 1, granule: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let threads = min(max(1, activeThreads), threadCount)
        // Several tasks per thread so a thread slowed by another process does not hold up the region.
        let tasks = min(threads * 8, max(1, count / max(1, minimumChunk, granule)))
        if tasks <= 1 || threads == 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = PoolJob(count: count, granule: max(1, granule), tasks: tasks, body: body)
            withUnsafeMutablePointer(to: &job) { p in
                cn_pool_run(pool, Int32(threads), { ctx, t in
                    let job = ctx!.assumingMemoryBound(to: PoolJob.self)
                    let n = job.pointee.count, g = job.pointee.granule, tasks = job.pointee.tasks, t = Int(t)
                    let units = (n + g - 1) / g
                    let start = min(n, units * t / tasks * g), end = min(n, units * (t + 1) / tasks * g)
                    if start < end { job.pointee.body(start..<end) }
                }, p, Int64(tasks))
            }
        }
    }
}

/// One parallel region's work, read (never written) by every worker.
private struct PoolJob {
    let count: Int
    let granule: Int
    let tasks: Int
    let body: (Range<Int>) -> Void
}
