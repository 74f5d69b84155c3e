import Grammar

/// Fuzzes the JSON-schema converter (patterns included): schemas come from requests. Input is
/// the schema text, optionally followed by a NUL and a document to match. Whatever converts
/// must give a grammar that parses, except that a schema whose `$ref`s reach themselves without
/// consuming anything is left-recursive, and many long `maxLength`/`maxItems` bounds (or nested
/// repetitions in a `pattern`, which multiply) can exceed the grammar's expansion budget; the
/// grammar reports both (a 400, like llama.cpp's left recursion).
enum JSONSchemaFuzzEntry {
    static func run(_ bytes: [UInt8]) {
        let (schemaBytes, document) = splitAtNUL(bytes)
        let text = String(decoding: schemaBytes, as: UTF8.self)
        let strict = schemaBytes.first.map { $0 & 1 == 0 } ?? true
        guard let result = try? JSONSchemaConverter.convert(schemaJSON: text, options: .init(strict: strict)) else { return }
        let grammar: Grammar
        do { grammar = try Grammar.parse(result.gbnf) } catch {
            switch error.kind {
            case .leftRecursion, .repetitionTooLarge: return
            default: break
            }
            check(false, "converted grammar does not parse (\(error)):\n\(result.gbnf)")
            return
        }
        let matcher = GrammarMatcher(grammar: grammar)
        matcher.maxStacks = 512
        _ = matcher.accept(tokenBytes: document)
        _ = matcher.canEnd
    }
}
