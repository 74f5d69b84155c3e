import Foundation
import XCTest
@testable import Grammar

/// Times whole-vocabulary filtering on a synthetic 262,144-token vocabulary at
/// several positions of a JSON-schema grammar. Prints the numbers (run with
/// `-c release` for meaningful timings); asserts only correctness of the mask
/// against per-token checks on a sample.
final class FilterSpeedTests: XCTestCase {
    func testFilterSpeedOnLargeVocabulary() throws {
        var rng = SplitMix(seed: 1234)
        let ascii = Array(" \n\t\"{}[]:,.-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_\\/".utf8)
        let multi: [[UInt8]] = ["é", "ü", "日", "本", "語", "ж", "😀", "→"].map { Array($0.utf8) }
        var tokens: [[UInt8]] = []
        tokens.reserveCapacity(262_144)
        for id in 0..<262_144 {
            if id < 256 { tokens.append([UInt8(id)]); continue } // byte-fallback tokens
            var t: [UInt8] = []
            let len = 1 + Int(rng.next() % 8)
            while t.count < len {
                if rng.next() % 8 == 0 { t += multi[Int(rng.next() % UInt64(multi.count))] } else { t.append(ascii[Int(rng.next() % UInt64(ascii.count))]) }
            }
            if rng.next() % 16 == 0 { t.removeLast() } // some tokens end mid-character
            tokens.append(t)
        }
        let eos: Int32 = 2
        let buildStart = Date()
        let vocab = TokenVocabulary(tokens: tokens, eosTokenIDs: [eos])
        let buildTime = Date().timeIntervalSince(buildStart)

        let schema = #"{"type":"object","properties":{"name":{"enum":["get_weather","get_time"]},"arguments":{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]},"days":{"type":"integer","minimum":1,"maximum":14},"notes":{"type":"array","items":{"type":"string"}}},"required":["city"]}},"required":["name","arguments"]}"#
        let grammar = try JSONSchemaConverter.grammar(schemaJSON: schema)
        let positions = [
            ("start", ""),
            ("after key colon", #"{"name":"get_weather","arguments":"#),
            ("inside string", #"{"name":"get_weather","arguments":{"city":"Par"#),
            ("inside integer", #"{"name":"get_time","arguments":{"city":"Oslo","days":1"#),
            ("array of strings", #"{"name":"get_time","arguments":{"city":"Oslo","notes":["a","#),
        ]
        var report = "vocabulary: \(tokens.count) tokens, \(vocab.trieNodeCount) trie nodes, built in \(String(format: "%.1f", buildTime * 1000)) ms\n"
        for (label, prefix) in positions {
            let m = GrammarMatcher(grammar: grammar)
            XCTAssertTrue(m.accept(tokenBytes: Array(prefix.utf8)) || prefix.isEmpty, label)
            _ = m.allowedTokenMask(vocabulary: vocab) // warm the successor cache once
            let runs = 5
            var best = Double.infinity
            var mask: [Bool] = []
            for _ in 0..<runs {
                let t0 = Date()
                mask = m.allowedTokenMask(vocabulary: vocab)
                best = min(best, Date().timeIntervalSince(t0))
            }
            let coldMatcher = GrammarMatcher(grammar: grammar)
            _ = coldMatcher.accept(tokenBytes: Array(prefix.utf8))
            let t1 = Date()
            _ = coldMatcher.allowedTokenMask(vocabulary: vocab)
            let cold = Date().timeIntervalSince(t1)
            let allowed = mask.filter { $0 }.count
            report += String(format: "  %-18@ allowed %6d  filter best %.2f ms, first call %.2f ms\n", label as NSString, allowed, best * 1000, cold * 1000)
            // Correctness on a sample.
            for _ in 0..<2000 {
                let id = Int32(rng.next() % UInt64(tokens.count))
                XCTAssertEqual(mask[Int(id)], m.accepts(token: id, vocabulary: vocab), "\(label) token \(id)")
            }
            XCTAssertEqual(mask[Int(eos)], m.canEnd)
            // The sampler's fast path: check one token without filtering.
            let t2 = Date()
            var accepted = 0
            for id in 0..<Int32(10_000) where m.accepts(token: id, vocabulary: vocab) { accepted += 1 }
            report += String(format: "  %-18@ single-token check: %.2f µs/token\n", "" as NSString, Date().timeIntervalSince(t2) * 1e6 / 10_000)
        }
        print(report)
    }
}
