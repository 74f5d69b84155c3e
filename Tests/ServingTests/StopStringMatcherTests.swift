import Testing
@testable import Serving

/// Stop strings: full matches end generation, partial matches are held back until they resolve.
struct StopStringMatcherTests {
    @Test func releasesTextWithoutStopStrings() {
        var m = StopStringMatcher(stopStrings: [])
        #expect(m.append("Hello") == .release("Hello"))
        #expect(m.append(" world") == .release(" world"))
    }

    @Test func holdsBackAPartialMatchThenReleasesIt() {
        var m = StopStringMatcher(stopStrings: ["User:"])
        #expect(m.append("Hi Us") == .release("Hi "))
        #expect(m.append("ual") == .release("Usual"))
    }

    @Test func stopsOnAMatchSpanningTokensAndDropsTheWord() {
        var m = StopStringMatcher(stopStrings: ["User:"])
        #expect(m.append("Fine. Us") == .release("Fine. "))
        #expect(m.append("er: more") == .stop(word: "User:", release: ""))
    }

    @Test func earliestOfSeveralStopStringsWins() {
        var m = StopStringMatcher(stopStrings: ["b", "xa"])
        #expect(m.append("1xab") == .stop(word: "xa", release: "1"))
    }

    @Test func flushReleasesHeldText() {
        var m = StopStringMatcher(stopStrings: ["###"])
        #expect(m.append("end ##") == .release("end "))
        #expect(m.flush() == "##")
    }
}
