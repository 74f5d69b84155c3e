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

/// A token can extend the previous token's last character; nothing may be lost then, and stop
/// strings match scalar by scalar (as llama-server matches bytes).
struct StopStringMatcherScalarTests {
    @Test func aPieceJoiningThePreviousCharacterIsReleasedWhole() {
        var m = StopStringMatcher(stopStrings: [])
        #expect(m.append("line1\r") == .release("line1\r"))
        #expect(m.append("\nline2") == .release("\nline2"))
        #expect(m.append("cafe") == .release("cafe"))
        #expect(m.append("\u{301} ok") == .release("\u{301} ok"))
        #expect(m.text == "line1\r\nline2cafe\u{301} ok")
    }

    @Test func heldTextAcrossAJoinedCharacterIsKept() {
        var m = StopStringMatcher(stopStrings: ["ab"])
        #expect(m.append("x\r") == .release("x\r"))
        #expect(m.append("\na") == .release("\n"))
        #expect(m.append("\u{301}") == .release("a\u{301}"))
    }

    @Test func aNewlineStopMatchesInsideCRLF() {
        var m = StopStringMatcher(stopStrings: ["\n"])
        #expect(m.append("Date: Mon\r") == .release("Date: Mon\r"))
        #expect(m.append("\nServer") == .stop(word: "\n", release: ""))
    }

    @Test func stopStringsCompareScalarsLiterally() {
        // "é" precomposed is not the stop string "e" + U+0301, and "e" alone matches in "é" decomposed.
        var m = StopStringMatcher(stopStrings: ["e\u{301}"])
        #expect(m.append("caf\u{e9}!") == .release("caf\u{e9}!"))
        var n = StopStringMatcher(stopStrings: ["e"])
        #expect(n.append("cafe\u{301}") == .stop(word: "e", release: "caf"))
    }
}
