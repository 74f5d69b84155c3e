import Testing
@testable import Serving

/// `--cache-ram`'s store: longest-prefix lookup, replacement of extended prompts, LRU eviction.
struct PromptRAMCacheTests {
    @Test func takesTheLongestMatchOnlyWhenItBeatsTheSlot() {
        let ram = PromptRAMCache(limitMiB: 1)
        ram.store(tokens: [1, 2, 3, 4], state: [0, 1])
        ram.store(tokens: [1, 9], state: [2])
        #expect(ram.take(for: [1, 2, 3, 7], longerThan: 3) == nil)
        let entry = ram.take(for: [1, 2, 3, 7], longerThan: 1)
        #expect(entry?.tokens == [1, 2, 3, 4] && entry?.state == [0, 1])
        #expect(ram.entries.map(\.tokens) == [[1, 9]])
    }

    @Test func anExtendedPromptReplacesItsPrefix() {
        let ram = PromptRAMCache(limitMiB: 1)
        ram.store(tokens: [1, 2], state: [0])
        ram.store(tokens: [1, 2, 3], state: [0, 0])
        #expect(ram.entries.map(\.tokens) == [[1, 2, 3]])
    }

    @Test func evictsTheLeastRecentlyStoredOverTheLimit() {
        let ram = PromptRAMCache(limitMiB: 1)
        let half = [UInt8](repeating: 0, count: 600 << 10)
        ram.store(tokens: [1], state: half)
        ram.store(tokens: [2], state: half)
        #expect(ram.entries.map(\.tokens) == [[2]])
        ram.store(tokens: [3], state: [UInt8](repeating: 0, count: 2 << 20))  // larger than the limit: not kept
        #expect(ram.entries.map(\.tokens) == [[2]])
        #expect(PromptRAMCache(limitMiB: -1).limitBytes == nil)
    }
}
