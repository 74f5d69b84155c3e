import Dispatch

/// Runs data-parallel loops on the engine's compute threads (never the Swift cooperative pool).
///
/// Work is split into contiguous ranges; each index is computed by exactly one task, and no
/// kernel's result depends on how ranges are split, so outputs are identical for any thread
/// count or batch shape.
public final class ComputePool: @unchecked Sendable {
    public let threadCount: Int

    public init(threads: Int) {
        self.threadCount = max(1, threads)
    }

    /// Calls `body(range)` for disjoint ranges covering 0..<count.
    public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let tasks = min(threadCount * 4, max(1, count / max(1, minimumChunk)))
        if tasks <= 1 || threadCount == 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: tasks) { t in
                let start = count * t / tasks, end = count * (t + 1) / tasks
                if start < end { box.value(start..<end) }
            }
        }
    }
}

/// Carries a non-Sendable value into a concurrent loop whose iterations touch disjoint data.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
