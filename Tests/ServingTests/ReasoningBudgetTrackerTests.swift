import Testing
@testable import Serving

/// The reasoning budget's state machine, fed token texts by hand: when it counts, when it forces
/// the end of thinking, and what it forces.
struct ReasoningBudgetTrackerTests {
    static let forced: [Int32] = [901, 902, 903]  // stands for message + "</think>"

    func tracker(_ tokens: Int, startsInside: Bool, forced: [Int32] = Self.forced) -> ReasoningBudgetTracker {
        ReasoningBudgetTracker(ReasoningBudget(tokens: tokens, open: "<think>", close: "</think>", startsInside: startsInside),
                               forcedTokens: forced)
    }

    /// Feeds text tokens; returns the forced token asked for before each one (nil: sample).
    @discardableResult
    func feed(_ t: inout ReasoningBudgetTracker, _ pieces: [String]) -> [Int32?] {
        var asked: [Int32?] = []
        for p in pieces {
            asked.append(t.forcedToken)
            t.accept(bytes: Array(p.utf8), completesCharacter: true)
        }
        return asked
    }

    /// Emits whatever is forced (as the engine does) until nothing more is; returns those tokens.
    func drainForced(_ t: inout ReasoningBudgetTracker) -> [Int32] {
        var out: [Int32] = []
        while let token = t.forcedToken, out.count < 100 {
            out.append(token)
            t.accept(bytes: Array("·".utf8), completesCharacter: true)
        }
        return out
    }

    @Test func templateOpenedBlockForcesAfterExactlyBudgetTokens() {
        var t = tracker(3, startsInside: true)
        #expect(feed(&t, ["a", "b"]) == [nil, nil])
        #expect(t.state == .thinking(remaining: 1))
        feed(&t, ["c"])
        #expect(t.state == .forcing(next: 0))
        #expect(drainForced(&t) == Self.forced)
        #expect(t.state == .closed)
        #expect(feed(&t, ["answer", "more"]) == [nil, nil], "the reply goes on unconstrained after the block")
    }

    @Test func modelOpenedBlockCountsFromAfterTheMarker() {
        var t = tracker(2, startsInside: false)
        // Text before the block, then the marker split over tokens: none of it counts.
        #expect(feed(&t, ["Hello ", "<th", "ink>"]) == [nil, nil, nil])
        #expect(t.state == .thinking(remaining: 2))
        feed(&t, ["x", "y"])
        #expect(drainForced(&t) == Self.forced)
    }

    @Test func naturalCloseStopsCountingAndNothingIsForced() {
        var t = tracker(4, startsInside: true)
        feed(&t, ["a", "</th", "ink>"])
        #expect(t.state == .closed)
        #expect(feed(&t, ["b", "c", "d", "e", "f"]).allSatisfy { $0 == nil })
    }

    @Test func aLaterBlockGetsAFreshBudget() {
        var t = tracker(2, startsInside: true)
        feed(&t, ["a", "</think>", "text", "<think>", "b"])
        #expect(t.state == .thinking(remaining: 1))
        feed(&t, ["c"])
        #expect(drainForced(&t) == Self.forced)
    }

    @Test func zeroBudgetForcesAtOnce() {
        var inside = tracker(0, startsInside: true)
        #expect(drainForced(&inside) == Self.forced)
        var outside = tracker(0, startsInside: false)
        #expect(outside.forcedToken == nil)
        feed(&outside, ["<think>"])
        #expect(drainForced(&outside) == Self.forced)
    }

    @Test func textOutsideABlockIsNeverCounted() {
        var t = tracker(1, startsInside: false)
        #expect(feed(&t, Array(repeating: "word ", count: 50)).allSatisfy { $0 == nil })
        #expect(t.state == .outside)
        #expect(feed(&t, ["</think>", "think>"]).allSatisfy { $0 == nil }, "a closing marker or a partial opening one does not open")
    }

    @Test func budgetSpentMidCharacterWaitsForTheCharacter() {
        var t = tracker(1, startsInside: true)
        // "é" is two bytes arriving as two byte tokens; the budget runs out after the first.
        t.accept(bytes: [0xC3], completesCharacter: false)
        #expect(t.state == .finishingCharacter && t.forcedToken == nil)
        t.accept(bytes: [0xA9], completesCharacter: true)
        #expect(drainForced(&t) == Self.forced)
    }

    @Test func closingMarkerCanEndTheBlockWhileTheCharacterFinishes() {
        var t = tracker(1, startsInside: true)
        t.accept(bytes: [0xF0], completesCharacter: false)
        feed(&t, ["</think>"])
        #expect(t.state == .closed && t.forcedToken == nil)
    }

    @Test func forcingWritesEachTokenOnceInOrder() {
        var t = tracker(1, startsInside: true, forced: [7])
        feed(&t, ["x"])
        #expect(t.forcedToken == 7)
        t.accept(bytes: Array("</think>".utf8), completesCharacter: true)
        #expect(t.state == .closed && t.forcedToken == nil)
    }

    @Test func budgetsOutOfRangeAreRefused() {
        #expect(ReasoningBudget(tokens: -1, open: "<think>", close: "</think>", startsInside: true).problem != nil)
        #expect(ReasoningBudget(tokens: ReasoningBudget.maxTokens + 1, open: "<think>", close: "</think>", startsInside: true).problem != nil)
        #expect(ReasoningBudget(tokens: 5, open: "", close: "</think>", startsInside: true).problem != nil)
        #expect(ReasoningBudget(tokens: 0, open: "<think>", close: "</think>", startsInside: true).problem == nil)
    }
}
