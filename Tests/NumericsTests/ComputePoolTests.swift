import Synchronization
import Testing
@testable import CriaNumerics

/// The compute pool's hand-out of a region's tasks (one contiguous segment per thread, the others'
/// tails taken over when a thread is done): every index runs exactly once in ranges that start on
/// the granule, for any thread count, and a task that stalls does not keep the rest from running.
@Suite struct ComputePoolTests {
    @Test func everyIndexRunsOnceInRangesOnTheGranule() {
        for threads in [1, 2, 3, 5] {
            let pool = ComputePool(threads: threads)
            for count in [1, 2, 3, 15, 16, 17, 100, 1000, 4099] {
                for granule in [1, 16] {
                    for minimumChunk in [1, 16] {
                        let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
                        let starts = UnsafeMutableBufferPointer<Bool>.allocate(capacity: count)
                        runs.initialize(repeating: 0)
                        starts.initialize(repeating: false)
                        pool.parallelFor(count, minimumChunk: minimumChunk, granule: granule) { range in
                            starts[range.lowerBound] = true
                            for i in range { runs[i] += 1 }
                        }
                        let label = "threads \(threads), count \(count), granule \(granule), minimum chunk \(minimumChunk)"
                        #expect(runs.allSatisfy { $0 == 1 }, "\(label): every index once")
                        #expect(starts.indices.allSatisfy { !starts[$0] || $0 % granule == 0 }, "\(label): ranges start on the granule")
                        runs.deallocate()
                        starts.deallocate()
                    }
                }
            }
        }
    }

    /// The first task of the caller's segment waits until every other task has run: the other
    /// thread must finish its own segment and then the rest of the caller's (without the
    /// take-over the region would wait for the deadline).
    @Test func aStalledTaskLeavesTheRestToTheOtherThreads() {
        let pool = ComputePool(threads: 2)
        let count = 16  // 2 threads × 8 tasks: one index per task
        let done = Atomic<Int>(0)
        let sawTheRestFinish = Atomic<Bool>(false)
        pool.parallelFor(count) { range in
            if range.lowerBound == 0 {
                let deadline = ContinuousClock.now + .seconds(30)
                while done.load(ordering: .acquiring) < count - range.count, ContinuousClock.now < deadline {}
                sawTheRestFinish.store(done.load(ordering: .acquiring) == count - range.count, ordering: .releasing)
            } else {
                done.add(range.count, ordering: .releasing)
            }
        }
        let finished = sawTheRestFinish.load(ordering: .acquiring), ran = done.load(ordering: .acquiring)
        #expect(finished, "the other thread ran the stalled segment's remaining tasks")
        #expect(ran == count - 1)
    }
}
