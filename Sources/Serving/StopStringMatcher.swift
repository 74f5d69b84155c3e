/// Finds stop strings in generated text and decides how much text is safe to release.
///
/// Text that ends with the beginning of a stop string is held back (it might become the stop
/// string with the next token); once it cannot, it is released. A full match ends generation
/// and the stop string itself is never released.
///
/// Works on Unicode scalars, not `Character`s: a token can extend the previous token's last
/// character (a `\n` after `\r` makes one `\r\n` grapheme, a combining accent joins its base),
/// so counting characters lost the new scalars, and a stop string `\n` never matched inside
/// `\r\n`. Scalars compare literally, as llama-server compares bytes.
struct StopStringMatcher {
    let stopStrings: [String]
    private let stopScalars: [[Unicode.Scalar]]
    /// Everything generated so far.
    private var scalars: [Unicode.Scalar] = []
    /// How many scalars of `scalars` have been released.
    private var released = 0

    init(stopStrings: [String]) {
        self.stopStrings = stopStrings.filter { !$0.isEmpty }
        stopScalars = self.stopStrings.map { Array($0.unicodeScalars) }
    }

    enum Outcome: Equatable {
        /// Text that may be sent now (possibly empty).
        case release(String)
        /// A stop string matched: release this text, then stop.
        case stop(word: String, release: String)
    }

    /// Everything generated so far.
    var text: String { Self.string(scalars[...]) }

    /// Adds newly decoded text and says what to do.
    mutating func append(_ piece: String) -> Outcome {
        scalars.append(contentsOf: piece.unicodeScalars)
        let pending = scalars[released...]
        if let (word, start) = earliestFullMatch(in: pending) {
            let out = Self.string(pending[..<start])
            released = scalars.count
            return .stop(word: word, release: out)
        }
        let end = scalars.count - longestPartialSuffix(of: pending)
        let out = Self.string(scalars[released..<end])
        released = end
        return .release(out)
    }

    /// Releases whatever was held back (generation ended for another reason).
    mutating func flush() -> String {
        let out = Self.string(scalars[released...])
        released = scalars.count
        return out
    }

    private static func string(_ s: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s)
        return String(view)
    }

    /// The stop string that starts first in `s`, and where it starts.
    private func earliestFullMatch(in s: ArraySlice<Unicode.Scalar>) -> (String, Int)? {
        var best: (String, Int)?
        for (word, pattern) in zip(stopStrings, stopScalars) where pattern.count <= s.count {
            var start = s.startIndex
            while start + pattern.count <= s.endIndex, best.map({ start < $0.1 }) ?? true {
                if s[start..<start + pattern.count].elementsEqual(pattern) {
                    best = (word, start)
                    break
                }
                start += 1
            }
        }
        return best
    }

    /// Length (in scalars) of the longest suffix of `s` that is a proper prefix of a stop string.
    private func longestPartialSuffix(of s: ArraySlice<Unicode.Scalar>) -> Int {
        var longest = 0
        for pattern in stopScalars {
            let maxLength = min(pattern.count - 1, s.count)
            guard maxLength > longest else { continue }
            for length in stride(from: maxLength, to: longest, by: -1)
            where s[(s.endIndex - length)...].elementsEqual(pattern[..<length]) {
                longest = length
                break
            }
        }
        return longest
    }
}
