import Foundation
import XCTest
@testable import Grammar
import JSON
import TestSupport

/// Runs the corpus in schemas.json (labels verified by scripts/check-schema-corpus.py
/// with Python's jsonschema): every schema converts to GBNF that our parser
/// accepts, every valid instance is fully accepted (compact, indented, and fed
/// in odd-sized chunks that split UTF-8 characters), every invalid one rejected.
final class JSONSchemaCorpusTests: XCTestCase {
    static func loadCorpus() throws -> [JSONValue] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("schemas.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        return try JSONValue.parse(text).arrayValue ?? []
    }

    func testCorpus() throws {
        let corpus = try Self.loadCorpus()
        XCTAssertGreaterThanOrEqual(corpus.count, 30)
        var failures: [String] = []
        var checkedValid = 0, checkedInvalid = 0
        var rng = SplitMix(seed: 42)
        for entry in corpus {
            let name = entry["name"]?.stringValue ?? "?"
            let schema = entry["schema"]!
            let gbnf: String
            do {
                gbnf = try JSONSchemaConverter.convert(schema: schema).gbnf
            } catch {
                failures.append("\(name): conversion failed: \(error)")
                continue
            }
            let grammar: Grammar
            do { grammar = try Grammar.parse(gbnf) } catch {
                failures.append("\(name): generated GBNF does not parse: \(error)\n\(gbnf)")
                continue
            }
            let m = GrammarMatcher(grammar: grammar)
            for v in entry["valid"]?.arrayValue ?? [] {
                for text in [v.serialized(), v.serialized(.python(indent: "  ")), v.serialized(.python(indent: " "))] {
                    m.reset()
                    if !m.matchesCompletely(text) { failures.append("\(name): valid instance rejected: \(text)") }
                    // Token-like chunks of 1...4 bytes, which split multi-byte characters.
                    m.reset()
                    let bytes = Array(text.utf8)
                    var i = 0
                    var ok = true
                    while i < bytes.count {
                        let n = min(bytes.count - i, 1 + Int(rng.next() % 4))
                        if !m.accept(tokenBytes: Array(bytes[i..<(i + n)])) { ok = false; break }
                        i += n
                    }
                    if !ok || !m.canEnd { failures.append("\(name): valid instance rejected when fed in chunks: \(text)") }
                    checkedValid += 1
                }
            }
            for v in entry["invalid"]?.arrayValue ?? [] {
                for text in [v.serialized(), v.serialized(.python(indent: "  "))] {
                    m.reset()
                    if m.matchesCompletely(text) { failures.append("\(name): invalid instance accepted: \(text)") }
                    checkedInvalid += 1
                }
            }
            let texts = (entry["invalid_texts"]?.arrayValue ?? []) + (entry["rejected_by_design"]?.arrayValue ?? [])
            for t in texts {
                let text = t.stringValue!
                m.reset()
                if m.matchesCompletely(text) { failures.append("\(name): invalid text accepted: \(text)") }
                checkedInvalid += 1
            }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) corpus failures:\n" + failures.joined(separator: "\n"))
        print("schema corpus: \(corpus.count) schemas, \(checkedValid) valid and \(checkedInvalid) invalid serializations checked, \(failures.count) failures")
    }
}
