import XCTest
@testable import Grammar
import TestSupport

/// Whole-vocabulary masks of a JSON-schema grammar on a large synthetic byte-level vocabulary
/// (byte-fallback tokens, random JSON-ish tokens with multi-byte characters, some ending
/// mid-character): at several positions of a document the mask equals the per-token check for
/// every token, is neither empty nor everything, and allows end-of-sequence exactly where the
/// grammar can end. The time these masks take: `scripts/bench-components grammar`.
final class LargeVocabularyMaskTests: XCTestCase {
    static let schema = #"{"type":"object","properties":{"name":{"enum":["get_weather","get_time"]},"arguments":{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]},"days":{"type":"integer","minimum":1,"maximum":14},"notes":{"type":"array","items":{"type":"string"}}},"required":["city"]}},"required":["name","arguments"]}"#

    static func vocabulary(size: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix(seed: seed)
        let ascii = Array(" \n\t\"{}[]:,.-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_\\/".utf8)
        let multi: [[UInt8]] = ["é", "ü", "日", "本", "語", "ж", "😀", "→"].map { Array($0.utf8) }
        return (0..<size).map { id in
            if id < 256 { return [UInt8(id)] }  // byte-fallback tokens
            var t: [UInt8] = []
            let length = 1 + Int(rng.next() % 8)
            while t.count < length {
                if rng.next() % 8 == 0 { t += multi[Int(rng.next() % UInt64(multi.count))] } else { t.append(ascii[Int(rng.next() % UInt64(ascii.count))]) }
            }
            if rng.next() % 16 == 0 { t.removeLast() }  // some tokens end mid-character
            return t
        }
    }

    func testMaskAgreesWithPerTokenChecksAtEveryPosition() throws {
        let tokens = Self.vocabulary(size: 32_768, seed: 1234)
        let eos: Int32 = 2
        let vocab = TokenVocabulary(tokens: tokens, eosTokenIDs: [eos])
        let grammar = try JSONSchemaConverter.grammar(schemaJSON: Self.schema)
        let positions = [
            ("start", "", false),
            ("after key colon", #"{"name":"get_weather","arguments":"#, false),
            ("inside string", #"{"name":"get_weather","arguments":{"city":"Par"#, false),
            ("inside integer", #"{"name":"get_time","arguments":{"city":"Oslo","days":1"#, false),
            ("array of strings", #"{"name":"get_time","arguments":{"city":"Oslo","notes":["a","#, false),
            ("complete", #"{"name":"get_time","arguments":{"city":"Oslo"}}"#, true),
        ]
        for (label, prefix, canEnd) in positions {
            let m = GrammarMatcher(grammar: grammar)
            XCTAssertTrue(prefix.isEmpty || m.accept(tokenBytes: Array(prefix.utf8)), label)
            XCTAssertEqual(m.canEnd, canEnd, label)
            let mask = try m.allowedTokenMask(vocabulary: vocab)
            XCTAssertEqual(mask.count, tokens.count, label)
            let allowed = mask.filter { $0 }.count
            XCTAssertGreaterThan(allowed, 0, label)
            XCTAssertLessThan(allowed, tokens.count, label)
            var disagreements = 0
            for id in 0..<Int32(tokens.count) where mask[Int(id)] != m.accepts(token: id, vocabulary: vocab) {
                disagreements += 1
            }
            XCTAssertEqual(disagreements, 0, "\(label): mask and per-token check disagree on \(disagreements) tokens")
            XCTAssertEqual(mask[Int(eos)], canEnd, "\(label): end-of-sequence")
        }
    }
}
