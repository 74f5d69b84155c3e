import Foundation
import Grammar
import TestSupport

/// Whole-vocabulary token masks of a JSON-schema grammar (what a constrained sampler computes when
/// its first choice is rejected) at several positions of a document, and the single-token check
/// (what it computes when the first choice is accepted), on a synthetic byte-level vocabulary.
struct GrammarBench {
    let vocabularySize: Int

    static let schema = #"{"type":"object","properties":{"name":{"enum":["get_weather","get_time"]},"arguments":{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]},"days":{"type":"integer","minimum":1,"maximum":14},"notes":{"type":"array","items":{"type":"string"}}},"required":["city"]}},"required":["name","arguments"]}"#

    static let positions = [
        ("start", ""),
        ("after key colon", #"{"name":"get_weather","arguments":"#),
        ("inside string", #"{"name":"get_weather","arguments":{"city":"Par"#),
        ("inside integer", #"{"name":"get_time","arguments":{"city":"Oslo","days":1"#),
        ("array of strings", #"{"name":"get_time","arguments":{"city":"Oslo","notes":["a","#),
    ]

    /// Byte-fallback tokens 0–255, then random 1–8 byte tokens of JSON punctuation, letters,
    /// digits and some multi-byte characters; one in 16 ends mid-character.
    static func vocabulary(size: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix(seed: seed)
        let ascii = Array(" \n\t\"{}[]:,.-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_\\/".utf8)
        let multi: [[UInt8]] = ["é", "ü", "日", "本", "語", "ж", "😀", "→"].map { Array($0.utf8) }
        return (0..<size).map { id in
            if id < 256 { return [UInt8(id)] }
            var t: [UInt8] = []
            let length = 1 + Int(rng.next() % 8)
            while t.count < length {
                if rng.next() % 8 == 0 { t += multi[Int(rng.next() % UInt64(multi.count))] } else { t.append(ascii[Int(rng.next() % UInt64(ascii.count))]) }
            }
            if rng.next() % 16 == 0 { t.removeLast() }
            return t
        }
    }

    func run() throws {
        let tokens = Self.vocabulary(size: vocabularySize, seed: 1234)
        var vocab: TokenVocabulary?
        let build = seconds { vocab = TokenVocabulary(tokens: tokens, eosTokenIDs: [2]) }
        guard let vocab else { return }
        let grammar = try JSONSchemaConverter.grammar(schemaJSON: Self.schema)
        print("## Grammar: JSON-schema token masks, vocabulary \(tokens.count) tokens (\(vocab.trieNodeCount) trie nodes, built in \(String(format: "%.1f", build * 1e3)) ms)")
        for (label, prefix) in Self.positions {
            let m = GrammarMatcher(grammar: grammar)
            guard prefix.isEmpty || m.accept(tokenBytes: Array(prefix.utf8)) else { print("  \(label): prefix rejected"); continue }
            // First call on a fresh matcher (cold successor cache), then the best of 5 warm calls.
            var allowed = 0
            let cold = seconds { allowed = try! m.allowedTokenMask(vocabulary: vocab).filter { $0 }.count }
            var best = Double.infinity
            for _ in 0..<5 { best = min(best, seconds { _ = try! m.allowedTokenMask(vocabulary: vocab) }) }
            let checks = min(10_000, tokens.count)
            let single = seconds { for id in 0..<Int32(checks) { _ = m.accepts(token: id, vocabulary: vocab) } }
            print("  " + padded(label, 18) + String(format: "allowed %6d   mask: first %7.3f ms, warm best %7.3f ms   single-token check %.2f µs",
                                                    allowed, cold * 1e3, best * 1e3, single * 1e6 / Double(checks)))
        }
    }
}
