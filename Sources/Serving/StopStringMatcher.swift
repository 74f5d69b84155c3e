/// Finds stop strings in generated text and decides how much text is safe to release.
///
/// Text that ends with the beginning of a stop string is held back (it might become the stop
/// string with the next token); once it cannot, it is released. A full match ends generation
/// and the stop string itself is never released.
struct StopStringMatcher {
    let stopStrings: [String]
    /// Everything generated so far.
    private(set) var text = ""
    /// How many characters of `text` have been released.
    private var released = 0

    init(stopStrings: [String]) {
        self.stopStrings = stopStrings.filter { !$0.isEmpty }
    }

    enum Outcome: Equatable {
        /// Text that may be sent now (possibly empty).
        case release(String)
        /// A stop string matched: release this text, then stop.
        case stop(word: String, release: String)
    }

    /// Adds newly decoded text and says what to do.
    mutating func append(_ piece: String) -> Outcome {
        text += piece
        let pending = Substring(text.dropFirst(released))
        if let (word, range) = earliestFullMatch(in: pending) {
            let out = String(pending[..<range.lowerBound])
            released = text.count
            return .stop(word: word, release: out)
        }
        let hold = longestPartialSuffix(of: pending)
        let out = String(pending.dropLast(hold))
        released += out.count
        return .release(out)
    }

    /// Releases whatever was held back (generation ended for another reason).
    mutating func flush() -> String {
        let out = String(text.dropFirst(released))
        released = text.count
        return out
    }

    private func earliestFullMatch(in s: Substring) -> (String, Range<Substring.Index>)? {
        var best: (String, Range<Substring.Index>)?
        for word in stopStrings {
            if let r = s.range(of: word), best == nil || r.lowerBound < best!.1.lowerBound {
                best = (word, r)
            }
        }
        return best
    }

    /// Length (in characters) of the longest suffix of `s` that is a proper prefix of a stop string.
    private func longestPartialSuffix(of s: Substring) -> Int {
        var longest = 0
        for word in stopStrings {
            let maxLength = min(word.count - 1, s.count)
            guard maxLength > longest else { continue }
            for length in stride(from: maxLength, to: longest, by: -1) where word.hasPrefix(s.suffix(length)) {
                longest = length
                break
            }
        }
        return longest
    }
}
