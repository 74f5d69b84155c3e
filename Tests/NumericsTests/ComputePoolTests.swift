import Foundation
import Synchronization
import Testing
@testable import CriaNumerics

/// The compute pool's hand-out of a region's tasks (one contiguous segment per thread, the others'
/// tails taken over when a thread is done): every index runs exactly once in ranges that start on
/// the granule, for any thread count, a task that stalls does not keep the rest from running, and
/// a worker that is not scheduled does not hold up regions it never entered.
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

    /// A worker held before it enters (as a thread the OS leaves unscheduled behind another
    /// process) must not hold up the regions: the caller runs them all, and the worker takes part
    /// again once let go. Regions run on a separate thread so that a pool waiting for the held
    /// worker fails the test at a deadline instead of hanging it.
    @Test func regionsFinishWithoutAWorkerThatIsNotScheduled() {
        let pool = ComputePool(threads: 2)
        pool.holdWorker(1)
        let count = 16, regions = 200
        let state = HeldRunState()
        let runner = Thread {
            let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
            for _ in 0..<regions {
                runs.initialize(repeating: 0)
                pool.parallelFor(count) { range in for i in range { runs[i] += 1 } }
                if !runs.allSatisfy({ $0 == 1 }) { state.everyIndexOnce.store(false, ordering: .relaxed) }
            }
            runs.deallocate()
            state.finished.store(true, ordering: .releasing)
        }
        runner.start()
        let deadline = ContinuousClock.now + .seconds(30)
        while !state.finished.load(ordering: .acquiring), ContinuousClock.now < deadline { usleep(1000) }
        let finishedWhileHeld = state.finished.load(ordering: .acquiring)
        pool.holdWorker(0)
        while !state.finished.load(ordering: .acquiring) { usleep(1000) }
        let everyIndexOnce = state.everyIndexOnce.load(ordering: .relaxed)
        #expect(finishedWhileHeld, "\(regions) regions finished while worker 1 was held")
        #expect(everyIndexOnce)

        // Let go, the worker joins again: the caller's first task waits until another thread has run one.
        let othersRan = Atomic<Int>(0), sawAnother = Atomic<Bool>(false)
        pool.parallelFor(count) { range in
            if range.lowerBound == 0 {
                let deadline = ContinuousClock.now + .seconds(30)
                while othersRan.load(ordering: .acquiring) == 0, ContinuousClock.now < deadline {}
                sawAnother.store(othersRan.load(ordering: .acquiring) > 0, ordering: .releasing)
            } else {
                othersRan.add(1, ordering: .releasing)
            }
        }
        let ranAgain = sawAnother.load(ordering: .acquiring)
        #expect(ranAgain, "the released worker ran tasks again")
    }
}

/// What the region-running thread of `regionsFinishWithoutAWorkerThatIsNotScheduled` reports.
private final class HeldRunState: Sendable {
    let finished = Atomic<Bool>(false)
    let everyIndexOnce = Atomic<Bool>(true)
}
